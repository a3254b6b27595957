using Qwen.Server;

var app = QwenServerApp.Build(args);
await app.RunAsync();
