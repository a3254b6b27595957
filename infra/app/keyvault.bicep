// Key Vault in RBAC mode holding two secrets: the API key clients send to the API app, and the service
// credential the API app sends to the GPU worker (the worker accepts nothing else). Values enter as secure
// parameters and are stored here only; the apps read them through Key Vault references with their own
// identity (Key Vault Secrets User on single secrets, rbac.bicep). No output carries a value. Reachable only
// through its private endpoint; purge protection keeps a deleted vault and its secrets recoverable.

@description('Key Vault name (3-24 letters, digits, hyphens).')
@minLength(3)
@maxLength(24)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Name of the secret holding the API key (Qwen__Serving__ApiKey).')
param apiKeySecretName string

@description('The API key clients send (api-key header or Bearer token). At least 32 characters.')
@secure()
@minLength(32)
param apiKey string

@description('Name of the secret holding the worker\'s service credential (API app: Qwen__Worker__ApiKey; worker: Qwen__Serving__ApiKey).')
param workerKeySecretName string

@description('The service credential the API app presents to the worker. At least 32 characters; never given to clients.')
@secure()
@minLength(32)
param workerKey string

resource vault 'Microsoft.KeyVault/vaults@2024-11-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    enablePurgeProtection: true
    publicNetworkAccess: 'Disabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Deny'
    }
  }
}

resource apiKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: apiKeySecretName
  properties: {
    value: apiKey
    contentType: 'text/plain'
  }
}

resource workerKeySecret 'Microsoft.KeyVault/vaults/secrets@2024-11-01' = {
  parent: vault
  name: workerKeySecretName
  properties: {
    value: workerKey
    contentType: 'text/plain'
  }
}

@description('Key Vault name.')
output name string = vault.name

@description('Key Vault resource ID (private endpoint target).')
output id string = vault.id

@description('Versionless URI of the worker\'s service credential secret (a reference, not the value).')
output workerKeyUri string = workerKeySecret.properties.secretUri

@description('Versionless URI of the API key secret (a reference, not the value).')
output apiKeyUri string = apiKeySecret.properties.secretUri
