using System.Reflection;
using Microsoft.Azure.Functions.Worker;
using Qwen.Functions.Http;
using Qwen.Serving.Http;

namespace Qwen.Functions.Tests.Http;

public sealed class BatchApiFunctionsTests
{
    [Fact]
    public void EveryFunction_IsAnonymousOnABatchRouteAndEveryRouteIsServed()
    {
        var routes = typeof(BatchApiRoutes).GetFields().Select(f => (string)f.GetRawConstantValue()!).ToHashSet();
        var served = new List<(string Route, string Method)>();
        foreach (var method in typeof(BatchApiFunctions).GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
        {
            Assert.Equal(method.Name, method.GetCustomAttribute<FunctionAttribute>()!.Name);
            var trigger = method.GetParameters()[0].GetCustomAttribute<HttpTriggerAttribute>()!;
            Assert.Equal(AuthorizationLevel.Anonymous, trigger.AuthLevel);
            Assert.Contains(trigger.Route!, routes);
            served.Add((trigger.Route!, Assert.Single(trigger.Methods!)));
        }
        Assert.Equal(routes.Order(), served.Select(s => s.Route).Distinct().Order());
        Assert.Equal(9, served.Distinct().Count()); // files: create, list, retrieve, content, delete; batches: create, list, retrieve, cancel
    }
}
