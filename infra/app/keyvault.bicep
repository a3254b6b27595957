// Key Vault in RBAC mode holding the HTTP API key. The value enters as a secure parameter and is stored
// here only; the apps read it through a Key Vault reference with their own identity (Key Vault Secrets
// User on this one secret, rbac.bicep). No output carries the value.

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

@description('Purge protection keeps deleted vaults recoverable for the retention period; off makes azd down + up with the same name possible.')
param enablePurgeProtection bool = false

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
    enablePurgeProtection: enablePurgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
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

@description('Key Vault name.')
output name string = vault.name

@description('Versionless URI of the API key secret (a reference, not the value).')
output apiKeyUri string = apiKeySecret.properties.secretUri
