# syntax=docker/dockerfile:1
# GPU worker image: the Qwen.Functions isolated worker built with the CUDA ONNX Runtime
# (-p:QwenOrtBuild=cuda swaps Microsoft.ML.OnnxRuntime for Microsoft.ML.OnnxRuntime.Gpu.Linux), on an
# NVIDIA CUDA + cuDNN runtime base, with the Functions host taken from the official dotnet-isolated image so
# the container behaves like the Functions base images (same host, paths, settings and start script).
#
# Build from the repository root (azd does this; see docs/deploy.md):
#   docker build -f infra/worker.Dockerfile -t qwen-worker .
#
# ONNX Runtime 1.31's CUDA provider needs CUDA 12.x and cuDNN 9.x; keep CUDA_IMAGE on those majors.
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-cudnn-runtime-ubuntu24.04
ARG FUNCTIONS_IMAGE=mcr.microsoft.com/azure-functions/dotnet-isolated:4-dotnet-isolated10.0
ARG DOTNET_RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0-noble
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble

FROM ${SDK_IMAGE} AS build
WORKDIR /src
# Only what the worker build reads: central package versions, build props, host.json and functions/.
COPY Directory.Build.props Directory.Packages.props host.json ./
COPY functions/ functions/
RUN dotnet publish functions/Qwen.Functions/Qwen.Functions.csproj \
        -c Release -r linux-x64 --self-contained false \
        -p:QwenOrtBuild=cuda \
        -o /home/site/wwwroot \
    # Fail the build, not the first request, if the CPU ONNX Runtime slipped in.
    && test -f /home/site/wwwroot/libonnxruntime_providers_cuda.so \
    && test -f /home/site/wwwroot/host.json

FROM ${FUNCTIONS_IMAGE} AS functions
FROM ${DOTNET_RUNTIME_IMAGE} AS dotnet

FROM ${CUDA_IMAGE}
# ICU and TLS roots for the Functions host (a self-contained .NET app) and the worker's Azure SDK calls.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates libicu74 libssl3t64 tzdata \
    && rm -rf /var/lib/apt/lists/*

# .NET runtime for the isolated worker process, and the Functions host with its start script.
COPY --from=dotnet /usr/share/dotnet /usr/share/dotnet
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
COPY --from=functions /azure-functions-host /azure-functions-host
COPY --from=functions /opt/startup /opt/startup
COPY --from=functions /local/FunctionHostingEnvironmentConfig.json /local/FunctionHostingEnvironmentConfig.json

# The Functions base image conventions: app in /home/site/wwwroot, host listening on port 80.
ENV AzureWebJobsScriptRoot=/home/site/wwwroot \
    HOME=/home \
    FUNCTIONS_WORKER_RUNTIME=dotnet-isolated \
    DOTNET_ROOT=/usr/share/dotnet \
    DOTNET_USE_POLLING_FILE_WATCHER=true \
    ASPNETCORE_CONTENTROOT=/azure-functions-host \
    AzureWebJobsFeatureFlags=EnableWorkerIndexing \
    FUNCTIONS_HOSTING_ENVIRONMENT_CONFIG_FILE_PATH=/local/FunctionHostingEnvironmentConfig.json \
    AzureFunctionsJobHost__Logging__Console__IsEnabled=true \
    ASPNETCORE_URLS=http://+:80 \
    Qwen__Engine__ExecutionProvider=cuda \
    Qwen__Model__CacheDirectory=/mnt/model-cache
EXPOSE 80

COPY --from=build /home/site/wwwroot /home/site/wwwroot
CMD [ "/opt/startup/start_nonappservice.sh" ]
