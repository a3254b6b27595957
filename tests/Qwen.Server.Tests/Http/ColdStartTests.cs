using System.Net;
using System.Text;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Qwen.Inference.Generation;
using Qwen.Serving.Http;
using Qwen.Server.Tests.Fakes;

namespace Qwen.Server.Tests.Http;

/// <summary>A cold start as a client sees it: the server listens at once, /ready is 503 while the model loads at host start,
/// a client that gives up mid-load does not cancel the load, and the next request is served by that same single load.</summary>
public sealed class ColdStartTests
{
    [Fact]
    public async Task FirstClientCancelledDuringLoad_LoadCompletes_NextRequestServedWithOneLoad()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var loads = 0;
        var fake = new FakeGenerationEngine(TestServer.Tokenizer, 2048, TestServer.ModelName);
        var app = QwenServerApp.Build(["--urls", "http://127.0.0.1:0", "--api-key", "cold-start-key-0123456789abcdefghijkl"], services =>
            services.AddSingleton<IGenerationEngineProvider>(sp => new GenerationEngineProvider(async ct =>
            {
                Interlocked.Increment(ref loads); // stands for the download + session creation
                await gate.Task.WaitAsync(ct);
                return (IGenerationEngine)fake;
            }, EngineProviderServiceCollectionExtensions.Stopping(sp))));
        await app.StartAsync();
        try
        {
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", "cold-start-key-0123456789abcdefghijkl");

            // The host started the load itself (no request yet) and answers /ready with 503 meanwhile.
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (Volatile.Read(ref loads) == 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
            Assert.Equal(1, Volatile.Read(ref loads));
            using (var ready = await client.GetAsync("ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }

            // The first client waits for the model, then gives up.
            using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(300)))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.PostAsync("v1/chat/completions", Chat(), giveUp.Token));
            }
            await Task.Delay(100); // let the server observe the abort
            gate.SetResult();

            deadline = DateTime.UtcNow.AddSeconds(10);
            HttpStatusCode status;
            do
            {
                using var ready = await client.GetAsync("ready");
                status = ready.StatusCode;
                if (status != HttpStatusCode.OK)
                {
                    await Task.Delay(20);
                }
            }
            while (status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
            Assert.Equal(HttpStatusCode.OK, status);

            using var served = await client.PostAsync("v1/chat/completions", Chat());
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
            Assert.Equal(1, loads);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private static StringContent Chat() =>
        new("{\"model\":\"qwen-test\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}", Encoding.UTF8, "application/json");
}
