using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
Qwen.Functions.Orchestrations.FlowServiceCollectionExtensions.AddQwenFlow(builder.Services, builder.Configuration);
Qwen.Functions.Http.HttpFunctionsServiceCollectionExtensions.AddQwenHttpFunctions(builder.Services, builder.Configuration);
builder.Build().Run();
