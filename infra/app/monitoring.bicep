// Log Analytics workspace and a workspace-based Application Insights component.
// Local (instrumentation-key) auth is off: the apps send telemetry with Entra tokens
// (APPLICATIONINSIGHTS_AUTHENTICATION_STRING) and need Monitoring Metrics Publisher, granted in rbac.bicep.

@description('Log Analytics workspace name.')
param logAnalyticsName string

@description('Application Insights component name.')
param applicationInsightsName string

@description('Azure region.')
param location string

@description('Tags applied to every resource.')
param tags object

@description('Days Log Analytics keeps data (30 is the free-retention minimum).')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2025-02-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    DisableLocalAuth: true
  }
}

@description('Log Analytics workspace resource ID (diagnostic settings target).')
output logAnalyticsId string = logAnalytics.id

@description('Application Insights component name.')
output applicationInsightsName string = applicationInsights.name
