using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
using Qwen.Functions.Http;
using Qwen.Functions.Orchestrations;

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.Services.AddQwenFlow(builder.Configuration);
builder.Services.AddQwenHttpFunctions(builder.Configuration);
builder.Build().Run();
