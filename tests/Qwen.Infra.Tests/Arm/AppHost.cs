namespace Qwen.Infra.Tests.Arm;

/// <summary>Which deployed app(s) must carry an app setting.</summary>
[Flags]
public enum AppHost
{
    /// <summary>Neither Azure app (standalone-only settings).</summary>
    None = 0,

    /// <summary>The GPU worker (Container Apps).</summary>
    Worker = 1,

    /// <summary>The API / orchestration app (Flex Consumption).</summary>
    Api = 2,

    /// <summary>Both apps.</summary>
    Both = Worker | Api,
}
