// A private DNS zone linked to the VNet, optionally with wildcard and apex A records (the internal Container Apps
// environment's domain: every app's FQDN resolves to the environment's private static IP inside the VNet).

@description('Zone name, for example privatelink.blob.core.windows.net or the environment\'s default domain.')
param name string

@description('Tags applied to every resource.')
param tags object

@description('Virtual network the zone is linked to (resolution happens only inside it).')
param vnetId string

@description('IPv4 address for the "*" and "@" A records; empty adds none.')
param recordAddress string = ''

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: name
  location: 'global'
  tags: tags
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: 'vnet-link'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: vnetId
    }
  }
}

resource wildcard 'Microsoft.Network/privateDnsZones/A@2024-06-01' = if (!empty(recordAddress)) {
  parent: zone
  name: '*'
  properties: {
    ttl: 300
    aRecords: [
      {
        ipv4Address: recordAddress
      }
    ]
  }
}

resource apex 'Microsoft.Network/privateDnsZones/A@2024-06-01' = if (!empty(recordAddress)) {
  parent: zone
  name: '@'
  properties: {
    ttl: 300
    aRecords: [
      {
        ipv4Address: recordAddress
      }
    ]
  }
}

@description('Zone resource ID.')
output id string = zone.id
