namespace Qwen.Infra.Tests.Arm;

/// <summary>One role assignment as the template resolves it: who, which built-in role, on what.</summary>
/// <param name="Principal">worker, api or deployer (or the unrecognised principal expression).</param>
/// <param name="RoleId">Role definition GUID.</param>
/// <param name="Scope">Resource path the assignment is scoped to, e.g. Microsoft.Storage/storageAccounts/x/blobServices/default/containers/models.</param>
public sealed record RoleGrant(string Principal, string RoleId, string Scope)
{
    /// <inheritdoc />
    public override string ToString() => $"{Principal}: {BuiltInRoles.NameOf(RoleId)} ({RoleId}) on {Scope}";
}
