using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Qwen.Infra.Tests.Bicep;
using Qwen.Testing;

namespace Qwen.Infra.Tests;

/// <summary>azd's parameter file, azure.yaml and the worker Dockerfile agree with the template and the repository.</summary>
/// <remarks>No Docker engine here: the Dockerfile is checked as text, never built.</remarks>
[Collection(InfraCollection.Name)]
public sealed partial class DeploymentFilesTests(InfraFixture infra)
{
    private static string Read(string relative) => File.ReadAllText(Path.Combine(RepoPaths.Root, relative));

    [Fact]
    public void ParametersFile_EveryEntry_IsATemplateParameter()
    {
        var file = (JsonObject)JsonNode.Parse(Read("infra/main.parameters.json"))!["parameters"]!;
        var declared = (JsonObject)infra.MainTemplate["parameters"]!;
        Assert.All(file.Select(p => p.Key), name => Assert.True(declared.ContainsKey(name), $"main.parameters.json sets '{name}', which main.bicep does not declare."));
    }

    [Fact]
    public void ParametersFile_RequiredParameters_AreAllSupplied()
    {
        var file = (JsonObject)JsonNode.Parse(Read("infra/main.parameters.json"))!["parameters"]!;
        var required = ((JsonObject)infra.MainTemplate["parameters"]!).Where(p => p.Value!["defaultValue"] is null).Select(p => p.Key).ToArray();
        Assert.Equal(["environmentName", "location", "qwenApiKey", "qwenWorkerKey"], required.Order());
        Assert.All(required, name => Assert.True(file.ContainsKey(name), $"main.parameters.json does not supply required parameter '{name}'."));
    }

    [Fact]
    public void ParametersFile_ApiKey_ComesFromTheAzdEnvironmentNotTheFile()
    {
        var file = (JsonObject)JsonNode.Parse(Read("infra/main.parameters.json"))!["parameters"]!;
        Assert.Equal("${QWEN_API_KEY}", (string?)file["qwenApiKey"]!["value"]);
    }

    [Fact]
    public void AzureYaml_Services_PointAtExistingProjectAndDockerfile()
    {
        var yaml = Read("azure.yaml");
        var projects = ProjectLine().Matches(yaml).Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal(["./functions/Qwen.Functions", "./functions/Qwen.Functions"], projects);
        Assert.True(File.Exists(Path.Combine(RepoPaths.Root, "functions/Qwen.Functions/Qwen.Functions.csproj")));
        var dockerfile = DockerPathLine().Match(yaml).Groups[1].Value;
        Assert.True(File.Exists(Path.GetFullPath(Path.Combine(RepoPaths.Root, "functions/Qwen.Functions", dockerfile))),
            $"azure.yaml's docker path '{dockerfile}' (relative to the project) does not exist.");
        Assert.Contains("host: containerapp", yaml);
        Assert.Contains("host: function", yaml);
    }

    [Fact]
    public void AzureYaml_ServiceNames_MatchTheTemplateTags()
    {
        var yaml = Read("azure.yaml");
        var template = new Arm.QwenTemplate(infra.Deploy());
        foreach (var (service, app, module) in new[] { ("worker", template.WorkerApp, template.WorkerModule), ("api", template.ApiApp, template.ApiModule) })
        {
            Assert.Contains($"\n  {service}:\n", yaml.ReplaceLineEndings("\n"));
            var tags = (JsonObject)module.Scope.Evaluate(app["tags"])!;
            Assert.Equal(service, (string?)tags["azd-service-name"]);
        }
    }

    [Fact]
    public void WorkerDockerfile_Build_UsesCudaOnnxRuntimeAndFunctionsConventions()
    {
        var dockerfile = Read("infra/worker.Dockerfile");
        Assert.Contains("-p:QwenOrtBuild=cuda", dockerfile);
        Assert.Contains("test -f /home/site/wwwroot/libonnxruntime_providers_cuda.so", dockerfile);
        Assert.Matches(@"ARG CUDA_IMAGE=nvidia/cuda:12\.\d+\.\d+-cudnn-runtime-", dockerfile);
        Assert.Contains("AzureWebJobsScriptRoot=/home/site/wwwroot", dockerfile);
        Assert.Contains("FUNCTIONS_WORKER_RUNTIME=dotnet-isolated", dockerfile);
        Assert.Contains("functions/Qwen.Functions/Qwen.Functions.csproj", dockerfile);
        // The build copies only these; each must exist and be let through .dockerignore.
        var ignore = Read(".dockerignore");
        foreach (var copied in new[] { "Directory.Build.props", "Directory.Packages.props", "host.json", "functions/" })
        {
            Assert.True(Path.Exists(Path.Combine(RepoPaths.Root, copied)), $"The Dockerfile copies {copied}, which does not exist.");
            Assert.Contains($"!{copied}", ignore);
        }
    }

    [Fact]
    public void QwenOrtBuild_CudaSwitch_StillSelectsTheGpuPackage()
    {
        var project = Read("functions/Qwen.Inference/Qwen.Inference.csproj");
        Assert.Contains("<PackageReference Include=\"Microsoft.ML.OnnxRuntime.Gpu.Linux\" Condition=\"'$(QwenOrtBuild)' == 'cuda'\" />", project);
    }

    [Theory]
    [InlineData("batchFunctionName")]
    [InlineData("batchPoisonFunctionName")]
    public void ApiApp_DisabledFunctionName_IsAQueueTriggeredFunctionOfTheProject(string parameter)
    {
        var name = (string?)infra.MainTemplate["parameters"]![parameter]!["defaultValue"];
        var sources = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "functions/Qwen.Functions"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Select(File.ReadAllText);
        var declaring = sources.Where(text => text.Contains($"[Function(\"{name}\")]", StringComparison.Ordinal)).ToArray();
        Assert.True(declaring.Length == 1, $"main.bicep disables '{name}' on the API app, but Qwen.Functions declares {declaring.Length} function(s) of that name.");
        Assert.Contains("[QueueTrigger(", declaring[0]);
    }

    [GeneratedRegex(@"^\s+project:\s*(\S+)\s*$", RegexOptions.Multiline)]
    private static partial Regex ProjectLine();

    [GeneratedRegex(@"^\s+path:\s*(\S+Dockerfile)\s*$", RegexOptions.Multiline)]
    private static partial Regex DockerPathLine();
}
