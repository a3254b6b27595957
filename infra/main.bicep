// Qwen Functions on Azure: an API / orchestration app (Flex Consumption), the one public endpoint, which checks
// the client's key and forwards inference to a GPU worker (Functions on Container Apps, serverless GPU) in an
// internal Container Apps environment. Both apps sit in one VNet; storage and Key Vault are reachable only through
// private endpoints. Every connection uses managed identities; the two secrets (the clients' API key and the
// worker's service credential) live in Key Vault. See docs/deploy.md.
targetScope = 'subscription'

@description('azd environment name; names the resource group and seeds resource names.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Azure region for all resources: it must offer the chosen serverless GPU and Flex Consumption.')
@minLength(1)
param location string

@description('Serverless GPU for the worker: T4 (16 GB, int4 packages) or A100 (80 GB, fp16 or int4).')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string = 'Consumption-GPU-NC8as-T4'

@description('Worker container image. azd sets it on deploy; the default is a public Functions image so the first provision succeeds.')
param workerImage string = 'mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated8.0'

@description('Minimum worker replicas: 0 scales the GPU to zero when idle.')
@minValue(0)
@maxValue(10)
param workerMinReplicas int = 0

@description('Maximum worker replicas (one GPU each).')
@minValue(1)
@maxValue(10)
param workerMaxReplicas int = 1

@description('Model package name in the models container (models/<name>/<version>/).')
param modelName string = 'qwen-7b-chat'

@description('Model package version in the models container.')
param modelVersion string = 'int4'

@description('Model id clients send and responses report.')
param servedModelName string = 'qwen-7b-chat'

@description('Sequences the worker decodes together; 0 = GPU profile default.')
@minValue(0)
param maxBatchSize int = 0

@description('Largest context in tokens; 0 = GPU profile default.')
@minValue(0)
param maxContext int = 0

@description('Requests allowed to wait for a slot; 0 = 64.')
@minValue(0)
param maxQueueLength int = 0

@description('Largest request body accepted, in bytes.')
@minValue(1024)
param maxRequestBodyBytes int = 1048576

@description('Days finished chat sessions and agent runs are kept before the hourly purge removes them.')
@minValue(1)
@maxValue(365)
param sessionRetentionDays int = 7

@description('The API key clients must send. Stored in Key Vault only; never an output.')
@secure()
@minLength(32)
param qwenApiKey string

@description('The service credential the API app presents to the GPU worker (the worker accepts nothing else). Stored in Key Vault only.')
@secure()
@minLength(32)
param qwenWorkerKey string

@description('Name of the queue-triggered batch function, disabled on the API app (the worker runs it).')
param batchFunctionName string = 'BatchGenerate'

@description('Name of the poison-queue function that records failed batches, also disabled on the API app.')
param batchPoisonFunctionName string = 'BatchPoison'

@description('Maximum API app instances (Flex Consumption).')
@minValue(1)
@maxValue(1000)
param apiMaximumInstanceCount int = 40

@description('Object ID of the deploying user or principal (azd: AZURE_PRINCIPAL_ID); gets model upload rights. Empty skips.')
param principalId string = ''

@description('Type of principalId.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

var abbreviations = {
  resourceGroup: 'rg-'
  logAnalytics: 'log-'
  applicationInsights: 'appi-'
  identity: 'id-'
  storage: 'st'
  keyVault: 'kv-'
  registry: 'cr'
  containerAppsEnvironment: 'cae-'
  containerApp: 'ca-'
  functionApp: 'func-'
  appServicePlan: 'plan-'
  virtualNetwork: 'vnet-'
  privateEndpoint: 'pe-'
}
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}

// Names the apps and the role assignments share. The poison queue name is the Functions host's convention.
var modelsContainerName = 'models'
var batchContainerName = 'batches'
var batchQueueName = 'batch-work'
var batchPoisonQueueName = '${batchQueueName}-poison'
var apiDeploymentContainerName = 'app-package-api'
var apiKeySecretName = 'qwen-api-key'
var workerKeySecretName = 'qwen-worker-key'
var gpuProfileName = 'gpu'

// Resource names are fixed here (not taken from module outputs) so every module gets values known before
// deployment, which keeps what-if precise.
var names = {
  logAnalytics: '${abbreviations.logAnalytics}${resourceToken}'
  applicationInsights: '${abbreviations.applicationInsights}${resourceToken}'
  workerIdentity: '${abbreviations.identity}worker-${resourceToken}'
  apiIdentity: '${abbreviations.identity}api-${resourceToken}'
  dataStorage: '${abbreviations.storage}data${resourceToken}'
  hostStorage: '${abbreviations.storage}host${resourceToken}'
  keyVault: '${abbreviations.keyVault}${resourceToken}'
  registry: '${abbreviations.registry}${resourceToken}'
  containerAppsEnvironment: '${abbreviations.containerAppsEnvironment}${resourceToken}'
  worker: '${abbreviations.containerApp}worker-${resourceToken}'
  api: '${abbreviations.functionApp}api-${resourceToken}'
  apiPlan: '${abbreviations.appServicePlan}api-${resourceToken}'
  virtualNetwork: '${abbreviations.virtualNetwork}${resourceToken}'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-11-01' = {
  name: '${abbreviations.resourceGroup}${environmentName}'
  location: location
  tags: tags
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

module workerIdentity 'app/identity.bicep' = {
  name: 'identity-worker'
  scope: rg
  params: {
    name: names.workerIdentity
    location: location
    tags: tags
  }
}

module apiIdentity 'app/identity.bicep' = {
  name: 'identity-api'
  scope: rg
  params: {
    name: names.apiIdentity
    location: location
    tags: tags
  }
}

module dataStorage 'app/storage.bicep' = {
  name: 'storage-data'
  scope: rg
  params: {
    name: names.dataStorage
    location: location
    tags: tags
    containers: [
      modelsContainerName
      batchContainerName
    ]
    queues: [
      batchQueueName
      batchPoisonQueueName
    ]
  }
}

module hostStorage 'app/storage.bicep' = {
  name: 'storage-host'
  scope: rg
  params: {
    name: names.hostStorage
    location: location
    tags: tags
    containers: [
      apiDeploymentContainerName
    ]
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: names.keyVault
    location: location
    tags: tags
    apiKeySecretName: apiKeySecretName
    apiKey: qwenApiKey
    workerKeySecretName: workerKeySecretName
    workerKey: qwenWorkerKey
  }
}

module network 'app/network.bicep' = {
  name: 'network'
  scope: rg
  params: {
    name: names.virtualNetwork
    location: location
    tags: tags
  }
}

// Private DNS: storage and Key Vault host names resolve to their private endpoints inside the VNet.
module blobZone 'app/private-dns-zone.bicep' = {
  name: 'dns-blob'
  scope: rg
  params: {
    name: 'privatelink.blob.${environment().suffixes.storage}'
    tags: tags
    vnetId: network.outputs.id
  }
}

module queueZone 'app/private-dns-zone.bicep' = {
  name: 'dns-queue'
  scope: rg
  params: {
    name: 'privatelink.queue.${environment().suffixes.storage}'
    tags: tags
    vnetId: network.outputs.id
  }
}

module tableZone 'app/private-dns-zone.bicep' = {
  name: 'dns-table'
  scope: rg
  params: {
    name: 'privatelink.table.${environment().suffixes.storage}'
    tags: tags
    vnetId: network.outputs.id
  }
}

module vaultZone 'app/private-dns-zone.bicep' = {
  name: 'dns-vault'
  scope: rg
  params: {
    name: 'privatelink.vaultcore.azure.net'
    tags: tags
    vnetId: network.outputs.id
  }
}

module peDataBlob 'app/private-endpoint.bicep' = {
  name: 'pe-data-blob'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}data-blob-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: dataStorage.outputs.id
    groupId: 'blob'
    privateDnsZoneId: blobZone.outputs.id
  }
}

module peDataQueue 'app/private-endpoint.bicep' = {
  name: 'pe-data-queue'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}data-queue-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: dataStorage.outputs.id
    groupId: 'queue'
    privateDnsZoneId: queueZone.outputs.id
  }
}

module peHostBlob 'app/private-endpoint.bicep' = {
  name: 'pe-host-blob'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}host-blob-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: hostStorage.outputs.id
    groupId: 'blob'
    privateDnsZoneId: blobZone.outputs.id
  }
}

module peHostQueue 'app/private-endpoint.bicep' = {
  name: 'pe-host-queue'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}host-queue-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: hostStorage.outputs.id
    groupId: 'queue'
    privateDnsZoneId: queueZone.outputs.id
  }
}

module peHostTable 'app/private-endpoint.bicep' = {
  name: 'pe-host-table'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}host-table-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: hostStorage.outputs.id
    groupId: 'table'
    privateDnsZoneId: tableZone.outputs.id
  }
}

module peVault 'app/private-endpoint.bicep' = {
  name: 'pe-vault'
  scope: rg
  params: {
    name: '${abbreviations.privateEndpoint}vault-${resourceToken}'
    location: location
    tags: tags
    subnetId: network.outputs.privateEndpointSubnetId
    targetId: keyVault.outputs.id
    groupId: 'vault'
    privateDnsZoneId: vaultZone.outputs.id
  }
}

module registry 'app/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: names.registry
    location: location
    tags: tags
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  // The assignments target these resources by name, so they must exist first.
  dependsOn: [
    monitoring
    dataStorage
    hostStorage
    keyVault
    registry
  ]
  params: {
    dataStorageName: names.dataStorage
    hostStorageName: names.hostStorage
    modelsContainerName: modelsContainerName
    batchContainerName: batchContainerName
    batchQueueName: batchQueueName
    batchPoisonQueueName: batchPoisonQueueName
    keyVaultName: names.keyVault
    apiKeySecretName: apiKeySecretName
    workerKeySecretName: workerKeySecretName
    registryName: names.registry
    applicationInsightsName: names.applicationInsights
    workerIdentityName: names.workerIdentity
    workerPrincipalId: workerIdentity.outputs.principalId
    apiIdentityName: names.apiIdentity
    apiPrincipalId: apiIdentity.outputs.principalId
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
}

module containerAppsEnvironment 'app/container-apps-env.bicep' = {
  name: 'container-apps-env'
  scope: rg
  params: {
    name: names.containerAppsEnvironment
    location: location
    tags: tags
    gpuProfileType: gpuProfileType
    gpuProfileName: gpuProfileName
    logAnalyticsId: monitoring.outputs.logAnalyticsId
    infrastructureSubnetId: network.outputs.containerAppsSubnetId
  }
}

// The internal environment's domain resolves, inside the VNet only, to the environment's private IP.
module containerAppsZone 'app/private-dns-zone.bicep' = {
  name: 'dns-container-apps'
  scope: rg
  params: {
    name: containerAppsEnvironment.outputs.defaultDomain
    tags: tags
    vnetId: network.outputs.id
    recordAddress: containerAppsEnvironment.outputs.staticIp
  }
}

module worker 'app/worker.bicep' = {
  name: 'worker'
  scope: rg
  // The image pull (AcrPull) and the Key Vault secret reference are resolved when the revision starts, over the
  // private endpoints.
  dependsOn: [
    rbac
    peDataBlob
    peDataQueue
    peHostBlob
    peHostQueue
    peHostTable
    peVault
  ]
  params: {
    name: names.worker
    location: location
    tags: union(tags, { 'azd-service-name': 'worker' })
    environmentId: containerAppsEnvironment.outputs.id
    workloadProfileName: gpuProfileName
    gpuProfileType: gpuProfileType
    image: workerImage
    minReplicas: workerMinReplicas
    maxReplicas: workerMaxReplicas
    identityId: workerIdentity.outputs.id
    identityClientId: workerIdentity.outputs.clientId
    registryServer: registry.outputs.loginServer
    serviceKeyUri: keyVault.outputs.workerKeyUri
    applicationInsightsName: names.applicationInsights
    hostStorageName: names.hostStorage
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    dataQueueEndpoint: dataStorage.outputs.queueEndpoint
    modelsContainerName: modelsContainerName
    modelName: modelName
    modelVersion: modelVersion
    servedModelName: servedModelName
    batchContainerName: batchContainerName
    batchQueueName: batchQueueName
    modelCacheDirectory: '/mnt/model-cache'
    maxRequestBodyBytes: maxRequestBodyBytes
    maxBatchSize: maxBatchSize
    maxContext: maxContext
    maxQueueLength: maxQueueLength
    durableTaskHubName: 'QwenWorkerHub'
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  dependsOn: [
    rbac
    containerAppsZone
    peDataBlob
    peDataQueue
    peHostBlob
    peHostQueue
    peHostTable
    peVault
  ]
  params: {
    name: names.api
    planName: names.apiPlan
    location: location
    tags: union(tags, { 'azd-service-name': 'api' })
    identityId: apiIdentity.outputs.id
    identityClientId: apiIdentity.outputs.clientId
    apiKeyUri: keyVault.outputs.apiKeyUri
    workerKeyUri: keyVault.outputs.workerKeyUri
    virtualNetworkSubnetId: network.outputs.apiSubnetId
    applicationInsightsName: names.applicationInsights
    hostStorageName: names.hostStorage
    hostBlobEndpoint: hostStorage.outputs.blobEndpoint
    deploymentContainerName: apiDeploymentContainerName
    dataBlobEndpoint: dataStorage.outputs.blobEndpoint
    dataQueueEndpoint: dataStorage.outputs.queueEndpoint
    batchContainerName: batchContainerName
    batchQueueName: batchQueueName
    workerBaseUri: worker.outputs.uri
    servedModelName: servedModelName
    maxRequestBodyBytes: maxRequestBodyBytes
    sessionRetentionDays: sessionRetentionDays
    durableTaskHubName: 'QwenHub'
    batchFunctionName: batchFunctionName
    batchPoisonFunctionName: batchPoisonFunctionName
    dotnetVersion: '10.0'
    maximumInstanceCount: apiMaximumInstanceCount
    instanceMemoryMB: 2048
  }
}

// Outputs azd stores in .azure/<env>/.env. Names and endpoints only: nothing here grants access.
@description('Resource group name.')
output AZURE_RESOURCE_GROUP string = rg.name

@description('Region.')
output AZURE_LOCATION string = location

@description('Registry azd pushes the worker image to.')
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer

@description('Data storage account (model-prep upload target).')
output QWEN_STORAGE_ACCOUNT string = dataStorage.outputs.name

@description('Blob container URI for model packages.')
output QWEN_MODELS_CONTAINER_URI string = '${dataStorage.outputs.blobEndpoint}${modelsContainerName}'

@description('Key Vault holding the API key (read it with az keyvault secret show, given the rights).')
output QWEN_KEY_VAULT_NAME string = keyVault.outputs.name

@description('GPU worker base URI (resolves inside the VNet only; clients call QWEN_API_URI).')
output QWEN_WORKER_URI string = worker.outputs.uri

@description('API / orchestration app base URI: the one URL clients call.')
output QWEN_API_URI string = api.outputs.uri
