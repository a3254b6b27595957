using System.Text.Json.Nodes;

namespace Qwen.Infra.Tests.Arm;

/// <summary>The expression evaluator the template tests rely on.</summary>
public sealed class ArmExpressionTests
{
    private static ArmScope Scope(string templateJson, Dictionary<string, object?>? parameters = null) =>
        ArmDeployment.Root((JsonObject)JsonNode.Parse(templateJson)!, parameters ?? []).Scope;

    private const string Template = """
        {
          "parameters": { "env": { "type": "string" }, "count": { "type": "int", "defaultValue": 0 } },
          "variables": {
            "abbreviations": { "storage": "st", "vault": "kv-" },
            "token": "[toLower(uniqueString(subscription().id, parameters('env')))]",
            "names": { "data": "[format('{0}data{1}', variables('abbreviations').storage, variables('token'))]" },
            "profiles": { "small": { "cpu": 8 } }
          },
          "resources": []
        }
        """;

    [Fact]
    public void Evaluate_MemberOfObjectVariable_IsPlainString()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        Assert.Equal("st", ArmExpression.Evaluate("variables('abbreviations').storage", scope));
    }

    [Fact]
    public void Evaluate_FormatOverNestedVariables_ResolvesFully()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        var token = (string)scope.Variable("token")!;
        Assert.Equal(13, token.Length);
        Assert.Equal($"stdata{token}", ArmExpression.Evaluate("variables('names').data", scope));
    }

    [Fact]
    public void Evaluate_IndexAndTernary_PickProfileDefault()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        Assert.Equal("8", ArmExpression.Evaluate("string(if(greater(parameters('count'), 0), parameters('count'), variables('profiles')['small'].cpu))", scope));
    }

    [Fact]
    public void Evaluate_Reference_StaysUnresolvedWithItsText()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        var value = ArmExpression.Evaluate("format('{0}models', reference('storage-data').outputs.blobEndpoint.value)", scope);
        Assert.Equal("reference('storage-data').outputs.blobEndpoint.valuemodels", value);
    }

    [Fact]
    public void Evaluate_ResourceId_BuildsResourcePath()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        Assert.Equal(
            "Microsoft.Storage/storageAccounts/acct/blobServices/default/containers/models",
            ArmExpression.Evaluate("resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', 'acct', 'default', 'models')", scope));
    }

    [Fact]
    public void Evaluate_EscapedQuote_IsOneQuote()
    {
        var scope = Scope(Template, new() { ["env"] = "dev" });
        Assert.Equal("it's", ArmExpression.Evaluate("'it''s'", scope));
    }
}
