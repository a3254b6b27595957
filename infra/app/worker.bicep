// The GPU worker: the Qwen.Functions image (built with -p:QwenOrtBuild=cuda) as a Functions-kind container
// app on a serverless GPU workload profile. It downloads the model package from Blob into a local cache,
// serves the OpenAI-compatible endpoints with the CUDA execution provider and runs the batch queue trigger.
// Every connection is identity-based (its own user-assigned identity). It accepts only the service credential
// (a Key Vault secret the API app also reads), never the clients' API key. The model loads when the host starts;
// the probes keep the replica out of rotation until /ready answers 200.

@description('Container app name.')
param name string

@description('Azure region.')
param location string

@description('Tags applied to every resource (must include azd-service-name so azd deploy finds the app).')
param tags object

@description('Container Apps environment resource ID.')
param environmentId string

@description('Workload profile name (the GPU profile defined in the environment).')
param workloadProfileName string

@description('GPU profile type; picks the replica size and the engine defaults.')
@allowed([
  'Consumption-GPU-NC8as-T4'
  'Consumption-GPU-NC24-A100'
])
param gpuProfileType string

@description('Container image. azd replaces it on deploy; the first provision uses a public Functions image.')
param image string

@description('Minimum replicas. 0 scales to zero (cold start downloads and loads the model); 1 keeps one GPU warm.')
@minValue(0)
param minReplicas int

@description('Maximum replicas (each holds one GPU; also bounded by the subscription\'s serverless GPU quota).')
@minValue(1)
param maxReplicas int

@description('Worker identity resource ID.')
param identityId string

@description('Worker identity client ID.')
param identityClientId string

@description('Registry login server the image is pulled from with the worker identity.')
param registryServer string

@description('Versionless Key Vault URI of the service credential secret (the only key this app accepts).')
param serviceKeyUri string

@description('Application Insights component name (same resource group).')
param applicationInsightsName string

@description('Host storage account name (AzureWebJobsStorage).')
param hostStorageName string

@description('Data storage blob endpoint, ending in a slash.')
param dataBlobEndpoint string

@description('Data storage queue endpoint, ending in a slash.')
param dataQueueEndpoint string

@description('Blob container holding model packages (models/<name>/<version>/...).')
param modelsContainerName string

@description('Model package name under the models container.')
param modelName string

@description('Model package version under the models container.')
param modelVersion string

@description('Model id clients send and responses report.')
param servedModelName string

@description('Blob container for batch input and output.')
param batchContainerName string

@description('Queue the batch trigger listens on.')
param batchQueueName string

@description('Local directory the model package is cached in (an EmptyDir volume).')
param modelCacheDirectory string

@description('Largest request body accepted, in bytes.')
param maxRequestBodyBytes int

@description('Sequences decoded together; 0 picks the GPU profile default below.')
@minValue(0)
param maxBatchSize int

@description('Context length in tokens the engine allows; 0 picks the GPU profile default below.')
@minValue(0)
param maxContext int

@description('Requests allowed to wait for a batch slot; 0 means 64.')
@minValue(0)
param maxQueueLength int

@description('Durable task hub of the worker, kept apart from the API app\'s hub: both run the same Functions build.')
param durableTaskHubName string

// Replica size is the whole serverless GPU node. The KV cache per token of Qwen-7B is
// 2 (K,V) x 32 layers x 4096 x bytes: 512 KiB in fp16 (packages converted with --target cuda), 1 MiB in fp32.
// The KV budget is GPU memory; the engine's default measures host memory, so the profile sets it:
// T4 (16 GB): cuda int4 weights ~4.5 GB + 4 x 2048 tokens x 512 KiB = 4 GiB of cache.
// A100 (80 GB): fp16 weights ~15.4 GB + 8 x 8192 x 512 KiB = 32 GiB of cache.
var profiles = {
  'Consumption-GPU-NC8as-T4': {
    cpu: 8
    memory: '56Gi'
    maxBatchSize: 4
    maxContext: 2048
    kvCacheBudgetBytes: 4294967296
  }
  'Consumption-GPU-NC24-A100': {
    cpu: 24
    memory: '220Gi'
    maxBatchSize: 8
    maxContext: 8192
    kvCacheBudgetBytes: 34359738368
  }
}
var profile = profiles[gpuProfileType]
var serviceKeySecretRef = 'qwen-worker-key'

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource worker 'Microsoft.App/containerApps@2025-07-01' = {
  name: name
  location: location
  tags: tags
  kind: 'functionapp'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    managedEnvironmentId: environmentId
    workloadProfileName: workloadProfileName
    configuration: {
      activeRevisionsMode: 'Single'
      // In an internal environment 'external: true' means reachable from the VNet (the API app), not from the internet;
      // 'false' would limit it to apps of this environment and hide it from the API app.
      ingress: {
        external: true
        targetPort: 80
        transport: 'auto'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [
        {
          name: serviceKeySecretRef
          keyVaultUrl: serviceKeyUri
          identity: identityId
        }
      ]
    }
    template: {
      containers: [
        {
          name: 'worker'
          image: image
          resources: {
            cpu: profile.cpu
            memory: profile.memory
          }
          // Startup: the Functions host listens (/health) within 5 minutes. Readiness: /ready is 503 until the model
          // is downloaded and loaded (minutes on a cold replica), so ingress sends no request to a replica before that.
          probes: [
            {
              type: 'Startup'
              httpGet: {
                path: '/health'
                port: 80
              }
              initialDelaySeconds: 5
              periodSeconds: 30
              timeoutSeconds: 5
              failureThreshold: 10
            }
            {
              type: 'Readiness'
              httpGet: {
                path: '/ready'
                port: 80
              }
              periodSeconds: 10
              timeoutSeconds: 5
              failureThreshold: 3
              successThreshold: 1
            }
            {
              type: 'Liveness'
              httpGet: {
                path: '/health'
                port: 80
              }
              periodSeconds: 30
              timeoutSeconds: 5
              failureThreshold: 3
            }
          ]
          volumeMounts: [
            {
              volumeName: 'model-cache'
              mountPath: modelCacheDirectory
            }
          ]
          env: [
            { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'dotnet-isolated' }
            // Function keys are not used (the API key guards the endpoints); keeping them on local disk avoids
            // the host's blob secret repository, which needs extra rights with identity-only storage.
            { name: 'AzureWebJobsSecretStorageType', value: 'files' }
            { name: 'AzureFunctionsJobHost__extensions__durableTask__hubName', value: durableTaskHubName }
            { name: 'AzureWebJobsStorage__accountName', value: hostStorageName }
            { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
            { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
            {
              name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
              value: 'ClientId=${identityClientId};Authorization=AAD'
            }
            { name: 'QwenStorage__blobServiceUri', value: dataBlobEndpoint }
            { name: 'QwenStorage__queueServiceUri', value: dataQueueEndpoint }
            { name: 'QwenStorage__credential', value: 'managedidentity' }
            { name: 'QwenStorage__clientId', value: identityClientId }
            { name: 'Qwen__Model__BlobContainerUri', value: '${dataBlobEndpoint}${modelsContainerName}' }
            { name: 'Qwen__Model__Name', value: modelName }
            { name: 'Qwen__Model__Version', value: modelVersion }
            { name: 'Qwen__Model__CacheDirectory', value: modelCacheDirectory }
            { name: 'Qwen__Engine__ExecutionProvider', value: 'cuda' }
            { name: 'Qwen__Engine__IntraOpThreads', value: string(profile.cpu) }
            {
              name: 'Qwen__Engine__MaxBatchSize'
              value: string(maxBatchSize > 0 ? maxBatchSize : profile.maxBatchSize)
            }
            { name: 'Qwen__Engine__MaxQueueLength', value: string(maxQueueLength > 0 ? maxQueueLength : 64) }
            { name: 'Qwen__Engine__MaxContext', value: string(maxContext > 0 ? maxContext : profile.maxContext) }
            { name: 'Qwen__Engine__KvCacheBudgetBytes', value: string(profile.kvCacheBudgetBytes) }
            { name: 'Qwen__Serving__ApiKey', secretRef: serviceKeySecretRef }
            { name: 'Qwen__Serving__ModelName', value: servedModelName }
            { name: 'Qwen__Serving__MaxRequestBodyBytes', value: string(maxRequestBodyBytes) }
            { name: 'Qwen__Batch__QueueName', value: batchQueueName }
            { name: 'Qwen__Batch__ContainerName', value: batchContainerName }
          ]
        }
      ]
      volumes: [
        {
          name: 'model-cache'
          storageType: 'EmptyDir'
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
      }
    }
  }
}

@description('Worker app name.')
output name string = worker.name

@description('Worker base URI (HTTPS ingress, resolvable inside the VNet only), for the API app\'s Qwen__Worker__BaseUri.')
output uri string = 'https://${worker.properties.configuration.ingress.fqdn}'
