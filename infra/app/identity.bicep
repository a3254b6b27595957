// One user-assigned managed identity. Each app gets its own so rbac.bicep can grant each only what it touches.

@description('Identity name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

@description('Identity resource ID (for identity blocks and Key Vault / registry references).')
output id string = identity.id

@description('Identity name.')
output name string = identity.name

@description('Client ID (AZURE_CLIENT_ID, *__clientId settings).')
output clientId string = identity.properties.clientId

@description('Object (principal) ID for role assignments.')
output principalId string = identity.properties.principalId
