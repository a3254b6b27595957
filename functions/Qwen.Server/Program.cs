using Qwen.Server;

WebApplication app;
try
{
    app = QwenServerApp.Build(args);
}
catch (ArgumentException ex)
{
    // A command-line mistake: one line on stderr and exit code 2, as command-line tools do, not a stack trace.
    Console.Error.WriteLine($"Qwen.Server: {ex.Message}");
    return 2;
}
await app.RunAsync();
return Environment.ExitCode;
