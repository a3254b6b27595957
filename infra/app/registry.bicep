// Container registry for the GPU worker image (azd pushes it here). Admin user and anonymous pull are off:
// the worker pulls with its managed identity (AcrPull, rbac.bicep).

@description('Registry name (5-50 letters and digits).')
@minLength(5)
@maxLength(50)
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

resource registry 'Microsoft.ContainerRegistry/registries@2025-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Basic'
  }
  properties: {
    adminUserEnabled: false
    anonymousPullEnabled: false
    publicNetworkAccess: 'Enabled'
  }
}

@description('Registry name.')
output name string = registry.name

@description('Login server, for example myreg.azurecr.io.')
output loginServer string = registry.properties.loginServer
