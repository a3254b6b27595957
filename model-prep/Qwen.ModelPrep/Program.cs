using Qwen.ModelPrep;
using Qwen.ModelPrep.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("model-prep");
    config.PropagateExceptions();
    // Strict: an unknown option (a typo such as --dtyp) is an error naming it, never silently ignored.
    config.UseStrictParsing();
    config.AddCommand<ConvertCommand>("convert")
        .WithDescription("Convert a Hugging Face Qwen-7B checkpoint (QWenLMHeadModel) into a verified ONNX model package.");
    config.AddCommand<TokenizerCommand>("tokenizer")
        .WithDescription("Import a byte-level BPE vocabulary (HF tokenizer.json) as qwen.tiktoken.");
    config.AddCommand<MakeCheckpointCommand>("make-checkpoint")
        .WithDescription("Write a seeded random checkpoint in the real HF layout (for tests and benchmarks).");
    config.AddCommand<GenerateCommand>("generate")
        .WithDescription("Generate from a model package (debugging): ids, text and per-token logprobs.");
    config.AddCommand<UploadCommand>("upload")
        .WithDescription("Upload a model package to Blob Storage as models/<name>/<version>/.");
});
return await CommandLineRunner.RunAsync(app, args);
