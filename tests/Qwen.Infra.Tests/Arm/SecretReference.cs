namespace Qwen.Infra.Tests.Arm;

/// <summary>A container app environment variable that takes its value from a container app secret.</summary>
public sealed record SecretReference(string SecretName);
