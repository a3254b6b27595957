// The private network both apps live in. Three subnets: the Container Apps environment's infrastructure subnet
// (an internal environment: the GPU worker gets no public address), the API app's VNet integration subnet (its
// calls to the worker, storage and Key Vault stay inside), and the private endpoints of storage and Key Vault.
// Workload-profile environments and Flex Consumption both require their subnet delegated to Microsoft.App/environments.

@description('Virtual network name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Address space of the virtual network.')
param addressPrefix string = '10.40.0.0/16'

@description('Container Apps infrastructure subnet (/23 leaves room for GPU and consumption replicas).')
param containerAppsSubnetPrefix string = '10.40.0.0/23'

@description('API app (Flex Consumption) integration subnet.')
param apiSubnetPrefix string = '10.40.2.0/24'

@description('Private endpoint subnet.')
param privateEndpointSubnetPrefix string = '10.40.3.0/24'

resource vnet 'Microsoft.Network/virtualNetworks@2024-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'snet-container-apps'
        properties: {
          addressPrefix: containerAppsSubnetPrefix
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'snet-api'
        properties: {
          addressPrefix: apiSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'snet-private-endpoints'
        properties: {
          addressPrefix: privateEndpointSubnetPrefix
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

@description('Virtual network resource ID.')
output id string = vnet.id

@description('Container Apps environment infrastructure subnet ID.')
output containerAppsSubnetId string = vnet.properties.subnets[0].id

@description('API app integration subnet ID.')
output apiSubnetId string = vnet.properties.subnets[1].id

@description('Private endpoint subnet ID.')
output privateEndpointSubnetId string = vnet.properties.subnets[2].id
