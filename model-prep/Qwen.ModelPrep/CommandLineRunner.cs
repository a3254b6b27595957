using Spectre.Console;
using Spectre.Console.Cli;

namespace Qwen.ModelPrep;

/// <summary>Runs the CLI and turns any failure into one line on stderr and a non-zero exit code.</summary>
public static class CommandLineRunner
{
    public static async Task<int> RunAsync(CommandApp app, string[] args)
    {
        try
        {
            return await app.RunAsync(args);
        }
        catch (CommandAppException ex)
        {
            Console.Error.WriteLine($"model-prep: {ex.Message}");
            return 2;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("model-prep: cancelled.");
            return 130;
        }
        catch (Exception ex) when (ex is ModelPrepException or IOException or UnauthorizedAccessException or InvalidDataException or System.Text.Json.JsonException)
        {
            Console.Error.WriteLine($"model-prep: {ex.Message}");
            return 1;
        }
    }
}

/// <summary>A model-prep failure whose message names the thing at fault and what to do about it.</summary>
public sealed class ModelPrepException(string message, Exception? inner = null) : Exception(message, inner);
