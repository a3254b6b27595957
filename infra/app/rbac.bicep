// Every role assignment, each scoped to the narrowest resource the app touches:
//   worker: reads model packages, reads/writes batch files, consumes the batch queue and its poison queue,
//           pulls its image, reads its service credential secret (not the clients' API key), publishes
//           telemetry, runs its Functions host.
//   api:    reads/writes batch files, sends to the batch queue, reads the API key and the worker's service
//           credential secrets, publishes
//           telemetry, runs its Functions host and the Durable task hub.
//   deployer (optional, the azd user): uploads model packages and inspects batch files.
// The hosts' account-wide roles are on the host storage account only, which holds no model or batch data.

@description('Data storage account (models, batches, batch queues).')
param dataStorageName string

@description('Host storage account (AzureWebJobsStorage, Durable task hub, deployment package).')
param hostStorageName string

@description('Blob container holding model packages.')
param modelsContainerName string

@description('Blob container for batch input and output.')
param batchContainerName string

@description('Batch work queue.')
param batchQueueName string

@description('Poison queue the Functions host moves failed batch messages to.')
param batchPoisonQueueName string

@description('Key Vault holding the API key.')
param keyVaultName string

@description('Name of the API key secret (clients\' key; the API app only).')
param apiKeySecretName string

@description('Name of the worker\'s service credential secret (the worker and the API app).')
param workerKeySecretName string

@description('Container registry the worker pulls from.')
param registryName string

@description('Application Insights component the apps send telemetry to.')
param applicationInsightsName string

@description('Name of the worker identity (seeds the assignment names, which must be known before deployment).')
param workerIdentityName string

@description('Principal ID of the worker identity.')
param workerPrincipalId string

@description('Name of the API identity.')
param apiIdentityName string

@description('Principal ID of the API identity.')
param apiPrincipalId string

@description('Principal ID of the person deploying (azd sets AZURE_PRINCIPAL_ID); empty skips their grants.')
param deployerPrincipalId string = ''

@description('Principal type of the deployer.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param deployerPrincipalType string = 'User'

// Built-in role definition IDs (the same GUIDs in every tenant).
var roles = {
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1' // Storage Blob Data Reader
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe' // Storage Blob Data Contributor
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b' // Storage Blob Data Owner
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88' // Storage Queue Data Contributor
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3' // Storage Table Data Contributor
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6' // Key Vault Secrets User
  acrPull: '7f951dda-4ed3-4680-a7ca-43fe172d538d' // AcrPull
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb' // Monitoring Metrics Publisher
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: dataStorageName

  resource blobService 'blobServices' existing = {
    name: 'default'

    resource models 'containers' existing = {
      name: modelsContainerName
    }

    resource batches 'containers' existing = {
      name: batchContainerName
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource batchQueue 'queues' existing = {
      name: batchQueueName
    }

    resource batchPoisonQueue 'queues' existing = {
      name: batchPoisonQueueName
    }
  }
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: hostStorageName
}

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' existing = {
  name: keyVaultName

  resource apiKeySecret 'secrets' existing = {
    name: apiKeySecretName
  }

  resource workerKeySecret 'secrets' existing = {
    name: workerKeySecretName
  }
}

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' existing = {
  name: registryName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// ---- worker -------------------------------------------------------------------------------------------

resource workerModelsReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::blobService::models.id, workerIdentityName, roles.storageBlobDataReader)
  scope: dataStorage::blobService::models
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataReader)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerBatchesContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::blobService::batches.id, workerIdentityName, roles.storageBlobDataContributor)
  scope: dataStorage::blobService::batches
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerBatchQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::queueService::batchQueue.id, workerIdentityName, roles.storageQueueDataContributor)
  scope: dataStorage::queueService::batchQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerBatchPoisonQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::queueService::batchPoisonQueue.id, workerIdentityName, roles.storageQueueDataContributor)
  scope: dataStorage::queueService::batchPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerAcrPull 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(registry.id, workerIdentityName, roles.acrPull)
  scope: registry
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.acrPull)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The worker reads only its service credential: it never sees the key clients use.
resource workerKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::workerKeySecret.id, workerIdentityName, roles.keyVaultSecretsUser)
  scope: vault::workerKeySecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, workerIdentityName, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// The Functions host (leases, host state) and the Durable Azure Storage provider (queues, tables, blobs)
// need account-wide access to their storage; that is why it is a separate account.
resource workerHostBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, workerIdentityName, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerHostQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, workerIdentityName, roles.storageQueueDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource workerHostTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, workerIdentityName, roles.storageTableDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: workerPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ---- api ----------------------------------------------------------------------------------------------

resource apiBatchesContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::blobService::batches.id, apiIdentityName, roles.storageBlobDataContributor)
  scope: dataStorage::blobService::batches
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiBatchQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dataStorage::queueService::batchQueue.id, apiIdentityName, roles.storageQueueDataContributor)
  scope: dataStorage::queueService::batchQueue
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiApiKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::apiKeySecret.id, apiIdentityName, roles.keyVaultSecretsUser)
  scope: vault::apiKeySecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiWorkerKeyReader 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault::workerKeySecret.id, apiIdentityName, roles.keyVaultSecretsUser)
  scope: vault::workerKeySecret
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, apiIdentityName, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.monitoringMetricsPublisher
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiHostBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, apiIdentityName, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiHostQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, apiIdentityName, roles.storageQueueDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageQueueDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiHostTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, apiIdentityName, roles.storageTableDataContributor)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageTableDataContributor
    )
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// ---- deployer -----------------------------------------------------------------------------------------

resource deployerModelsContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(dataStorage::blobService::models.id, deployerPrincipalId, roles.storageBlobDataContributor)
  scope: dataStorage::blobService::models
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}

resource deployerBatchesContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(dataStorage::blobService::batches.id, deployerPrincipalId, roles.storageBlobDataContributor)
  scope: dataStorage::blobService::batches
  properties: {
    roleDefinitionId: subscriptionResourceId(
      'Microsoft.Authorization/roleDefinitions',
      roles.storageBlobDataContributor
    )
    principalId: deployerPrincipalId
    principalType: deployerPrincipalType
  }
}
