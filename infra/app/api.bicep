// The API / orchestration app: the same Qwen.Functions build on Flex Consumption (CPU). It serves the HTTP
// API, runs the Durable orchestrations (chat sessions, ReAct tool loops) on the Azure Storage provider in
// the host storage account, enqueues batch work, and forwards the OpenAI routes to the GPU worker (checking the
// client's key first and presenting the service credential to the worker). VNet-integrated: its calls to the
// internal worker, storage and Key Vault go through the VNet; it is the only public endpoint.
// No FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION settings: Flex Consumption takes the runtime
// from functionAppConfig and rejects those settings.

@description('Function app name.')
param name string

@description('Flex Consumption plan name.')
param planName string

@description('Azure region (must offer Flex Consumption).')
param location string

@description('Tags applied to every resource (must include azd-service-name so azd deploy finds the app).')
param tags object

@description('API identity resource ID.')
param identityId string

@description('API identity client ID.')
param identityClientId string

@description('Versionless Key Vault URI of the API key secret.')
param apiKeyUri string

@description('Versionless Key Vault URI of the worker\'s service credential secret.')
param workerKeyUri string

@description('Subnet (delegated to Microsoft.App/environments) the app integrates with.')
param virtualNetworkSubnetId string

@description('Application Insights component name (same resource group).')
param applicationInsightsName string

@description('Host storage account name (AzureWebJobsStorage, Durable task hub).')
param hostStorageName string

@description('Host storage blob endpoint, ending in a slash (Flex deployment package container).')
param hostBlobEndpoint string

@description('Blob container in the host account that holds the deployment package.')
param deploymentContainerName string

@description('Data storage blob endpoint, ending in a slash.')
param dataBlobEndpoint string

@description('Data storage queue endpoint, ending in a slash.')
param dataQueueEndpoint string

@description('Blob container for batch input and output.')
param batchContainerName string

@description('Queue batch work is sent to.')
param batchQueueName string

@description('GPU worker base URI.')
param workerBaseUri string

@description('Model id clients send and responses report.')
param servedModelName string

@description('Largest request body accepted, in bytes.')
param maxRequestBodyBytes int

@description('Days finished sessions and agent runs are kept before they are purged.')
param sessionRetentionDays int

@description('Durable task hub of this app.')
param durableTaskHubName string

@description('Name of the queue-triggered batch function; disabled here because the GPU worker owns it.')
param batchFunctionName string

@description('Name of the poison-queue function that records failed batches; disabled here for the same reason.')
param batchPoisonFunctionName string

@description('.NET version of the isolated worker.')
param dotnetVersion string

@description('Maximum Flex Consumption instances.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int

@description('Memory per instance in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource api 'Microsoft.Web/sites@2024-11-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientCertEnabled: false
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: [
        { name: 'AzureFunctionsJobHost__extensions__durableTask__hubName', value: durableTaskHubName }
        { name: 'AzureWebJobsStorage__accountName', value: hostStorageName }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'AZURE_CLIENT_ID', value: identityClientId }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        { name: 'QwenStorage__blobServiceUri', value: dataBlobEndpoint }
        { name: 'QwenStorage__queueServiceUri', value: dataQueueEndpoint }
        { name: 'QwenStorage__credential', value: 'managedidentity' }
        { name: 'QwenStorage__clientId', value: identityClientId }
        { name: 'Qwen__Serving__ApiKey', value: '@Microsoft.KeyVault(SecretUri=${apiKeyUri})' }
        { name: 'Qwen__Serving__ModelName', value: servedModelName }
        { name: 'Qwen__Serving__MaxRequestBodyBytes', value: string(maxRequestBodyBytes) }
        { name: 'Qwen__Orchestrations__RetentionDays', value: string(sessionRetentionDays) }
        { name: 'Qwen__Batch__QueueName', value: batchQueueName }
        { name: 'Qwen__Batch__ContainerName', value: batchContainerName }
        { name: 'Qwen__Worker__BaseUri', value: workerBaseUri }
        { name: 'Qwen__Worker__ApiKey', value: '@Microsoft.KeyVault(SecretUri=${workerKeyUri})' }
        // The batch queue triggers belong to the GPU worker (it holds the model); this app only enqueues.
        { name: 'AzureWebJobs.${batchFunctionName}.Disabled', value: 'true' }
        { name: 'AzureWebJobs.${batchPoisonFunctionName}.Disabled', value: 'true' }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${hostBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: dotnetVersion
      }
    }
  }
}

// Deployment goes through azd / the Flex deployment container with Entra ID; publishing passwords stay off.
resource scmPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: api
  name: 'scm'
  properties: {
    allow: false
  }
}

resource ftpPolicy 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-11-01' = {
  parent: api
  name: 'ftp'
  properties: {
    allow: false
  }
}

@description('Function app name.')
output name string = api.name

@description('Function app base URI.')
output uri string = 'https://${api.properties.defaultHostName}'
