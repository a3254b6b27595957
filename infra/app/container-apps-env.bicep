// Container Apps environment with the default Consumption profile plus one serverless GPU profile for the
// worker. Internal: the environment sits in the VNet's infrastructure subnet with no public inbound IP, so its
// apps are reachable only from the VNet (the API app, VNet-integrated) through the private DNS zone main.bicep
// creates for the environment's domain. Logs go through Azure Monitor diagnostic settings rather than the 'log-analytics' destination,
// which would need the workspace's shared key in the template.

@description('Environment name.')
param name string

@description('Azure region (must offer the chosen serverless GPU).')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Serverless GPU workload profile type for the worker.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string

@description('Name the worker app uses to pick the GPU profile.')
param gpuProfileName string

@description('Log Analytics workspace resource ID for the environment\'s console and system logs.')
param logAnalyticsId string

@description('Infrastructure subnet (delegated to Microsoft.App/environments) the environment is placed in.')
param infrastructureSubnetId string

resource environment 'Microsoft.App/managedEnvironments@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'azure-monitor'
    }
    zoneRedundant: false
    vnetConfiguration: {
      internal: true
      infrastructureSubnetId: infrastructureSubnetId
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
      {
        name: gpuProfileName
        workloadProfileType: gpuProfileType
      }
    ]
  }
}

resource diagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'logs-to-workspace'
  scope: environment
  properties: {
    workspaceId: logAnalyticsId
    logs: [
      {
        categoryGroup: 'allLogs'
        enabled: true
      }
    ]
  }
}

@description('Environment resource ID.')
output id string = environment.id

@description('Environment default domain (the private DNS zone\'s name).')
output defaultDomain string = environment.properties.defaultDomain

@description('Private IP of the environment\'s internal load balancer (the DNS zone\'s A records).')
output staticIp string = environment.properties.staticIp
