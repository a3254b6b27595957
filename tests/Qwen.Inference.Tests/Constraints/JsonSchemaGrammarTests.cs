using System.Text.Json;
using Qwen.Inference.Constraints;

namespace Qwen.Inference.Tests.Constraints;

/// <summary>The JSON Schema subset: what each supported keyword lets through, and refusals that name the keyword.</summary>
public sealed class JsonSchemaGrammarTests
{
    private static Grammar Schema(string json) => Grammar.JsonSchema(JsonDocument.Parse(json).RootElement);

    private static string Match(string schema, string json) => ByteMatcherTests.Match(Schema(schema), json);

    [Theory]
    [InlineData("""{"type":"string","pattern":"^a"}""", "pattern", "")]
    [InlineData("""{"type":"string","format":"date"}""", "format", "")]
    [InlineData("""{"type":"number","minimum":0}""", "minimum", "")]
    [InlineData("""{"type":"integer","maximum":3}""", "maximum", "")]
    [InlineData("""{"type":"integer","multipleOf":3}""", "multipleOf", "")]
    [InlineData("""{"allOf":[{"type":"string"}]}""", "allOf", "")]
    [InlineData("""{"oneOf":[{"type":"string"}]}""", "oneOf", "")]
    [InlineData("""{"not":{"type":"string"}}""", "not", "")]
    [InlineData("""{"type":"object","properties":{"a":{"type":"string","pattern":"x"}}}""", "pattern", "/properties/a")]
    [InlineData("""{"type":"object","patternProperties":{"^a":{}}}""", "patternProperties", "")]
    [InlineData("""{"type":"object","additionalProperties":{"type":"string"}}""", "additionalProperties", "")]
    [InlineData("""{"type":"object","properties":{"a":{}},"required":["b"]}""", "required", "")]
    [InlineData("""{"type":"array","items":[{"type":"string"}]}""", "items", "")]
    [InlineData("""{"type":"array","prefixItems":[{"type":"string"}]}""", "prefixItems", "")]
    [InlineData("""{"type":"array","uniqueItems":true}""", "uniqueItems", "")]
    [InlineData("""{"type":"array","items":{"type":"object","properties":{"x":{"format":"email"}}}}""", "format", "/items/properties/x")]
    [InlineData("""{"$ref":"https://example.com/s.json"}""", "$ref", "")]
    [InlineData("""{"$ref":"#/$defs/missing"}""", "$ref", "")]
    [InlineData("""{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}""", "$ref", "/$defs/b/anyOf/0")]
    [InlineData("""{"type":"frog"}""", "type", "")]
    [InlineData("""{"type":"string","maxLength":-1}""", "maxLength", "")]
    [InlineData("""{"type":"string","minLength":3,"maxLength":2}""", "minLength", "")]
    [InlineData("""{"anyOf":[{"type":"string"}],"type":"string"}""", "anyOf", "")]
    [InlineData("""{"enum":[]}""", "enum", "")]
    [InlineData("""false""", "false", "")]
    [InlineData("""{"if":{"type":"string"}}""", "if", "")]
    [InlineData("""{"type":"object","minProperties":1}""", "minProperties", "")]
    public void Create_KeywordOutsideSubset_ThrowsNamingIt(string schema, string keyword, string path)
    {
        var error = Assert.Throws<UnsupportedSchemaException>(() => Schema(schema));
        Assert.Equal(keyword, error.Keyword);
        Assert.Equal(path, error.Path);
        Assert.Contains(keyword, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Create_Annotations_AreIgnored()
    {
        const string schema = """{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x","title":"T","description":"d","type":"object","properties":{"a":{"type":"integer","description":"n","default":1,"examples":[2]}},"required":["a"],"additionalProperties":false}""";
        Assert.Equal("complete", Match(schema, """{"a":5}"""));
    }

    private const string Person = """
        {"type":"object","properties":{
            "name":{"type":"string","maxLength":5},
            "age":{"type":"integer"},
            "nick":{"type":["string","null"]},
            "tags":{"type":"array","items":{"enum":["x","y"]},"minItems":1,"maxItems":2}},
         "required":["name","tags"],"additionalProperties":false}
        """;

    [Theory]
    [InlineData("""{"name":"Ann","tags":["x"]}""", "complete")]
    [InlineData("""{"name":"Ann","age":3,"nick":null,"tags":["x","y"]}""", "complete")]
    [InlineData("""{ "name": "Ann", "nick": "A", "tags": [ "y" ] }""", "complete")]
    [InlineData("""{"name":"Annabel","tags":["x"]}""", "reject")] // maxLength 5
    [InlineData("""{"age":3,"name":"Ann","tags":["x"]}""", "reject")] // declared order
    [InlineData("""{"name":"Ann"}""", "reject")] // tags required
    [InlineData("""{"name":"Ann","tags":[]}""", "reject")] // minItems 1
    [InlineData("""{"name":"Ann","tags":["x","y","x"]}""", "reject")] // maxItems 2
    [InlineData("""{"name":"Ann","tags":["z"]}""", "reject")] // enum
    [InlineData("""{"name":"Ann","age":3.5,"tags":["x"]}""", "reject")] // integer
    [InlineData("""{"name":"Ann","tags":["x"],"other":1}""", "reject")] // closed
    [InlineData("""{"name":"Ann","tags":["x"]""", "prefix")]
    public void Object_Properties_InDeclaredOrderRequiredMandatory(string json, string expected) => Assert.Equal(expected, Match(Person, json));

    [Theory]
    [InlineData("""{"const":{"a":[1,"é"]}}""", """{"a":[1,"é"]}""", "complete")]
    [InlineData("""{"const":{"a":[1,"é"]}}""", """{"a": [1, "é"]}""", "reject")] // const is written compactly
    [InlineData("""{"enum":["red","green",3,null]}""", "\"green\"", "complete")]
    [InlineData("""{"enum":["red","green",3,null]}""", "null", "complete")]
    [InlineData("""{"enum":["red","green",3,null]}""", "\"blue\"", "reject")]
    [InlineData("""{"anyOf":[{"type":"string","maxLength":1},{"type":"integer"}]}""", "\"a\"", "complete")]
    [InlineData("""{"anyOf":[{"type":"string","maxLength":1},{"type":"integer"}]}""", "42", "complete")]
    [InlineData("""{"anyOf":[{"type":"string","maxLength":1},{"type":"integer"}]}""", "\"ab\"", "reject")]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"a\"", "reject")]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"a😀\"", "complete")]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"\\n\\u00e9x\"", "complete")]
    [InlineData("""{"type":"string","minLength":2,"maxLength":3}""", "\"abcd\"", "reject")]
    [InlineData("""{"type":"boolean"}""", "false", "complete")]
    [InlineData("""{"type":"null"}""", "null", "complete")]
    [InlineData("""{"type":"number"}""", "-1.5e3", "complete")]
    [InlineData("""{"type":"integer"}""", "1e3", "reject")]
    [InlineData("""{}""", """[{"any":"thing"}]""", "complete")]
    [InlineData("""true""", "3", "complete")]
    [InlineData("""{"type":"object"}""", """{"free":[1]}""", "complete")]
    [InlineData("""{"type":"object","additionalProperties":false}""", "{}", "complete")]
    [InlineData("""{"type":"object","additionalProperties":false}""", """{"a":1}""", "reject")]
    [InlineData("""{"type":"object","properties":{"a":{"const":1}}}""", """{"b":1}""", "reject")] // only listed properties are generated
    [InlineData("""{"type":"object","properties":{"a":{"const":1},"b":{"const":2}}}""", """{"b":2}""", "complete")] // optional ones may be skipped
    [InlineData("""{"type":"object","properties":{"a":{"const":1},"b":{"const":2}}}""", "{}", "complete")]
    [InlineData("""{"properties":{"a":{"const":1}},"required":["a"]}""", """{"a":1}""", "complete")] // type implied
    public void Schema_Keywords_AcceptExactly(string schema, string json, string expected) => Assert.Equal(expected, Match(schema, json));

    [Theory]
    [InlineData("""{"value":1,"children":[]}""", "complete")]
    [InlineData("""{"value":1,"children":[{"value":2,"children":[{"value":3,"children":[]}]}]}""", "complete")]
    [InlineData("""{"value":1,"children":[{"value":2}]}""", "reject")]
    public void Ref_RecursiveDefinitions_Compile(string json, string expected)
    {
        const string tree = """
            {"$ref":"#/$defs/node","$defs":{"node":{"type":"object","properties":{
                "value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#/$defs/node"}}},
                "required":["value","children"],"additionalProperties":false}}}
            """;
        Assert.Equal(expected, Match(tree, json));
    }

    [Theory]
    [InlineData("\"a\"", "complete")]
    [InlineData("\"ab\"", "complete")]
    [InlineData("\"abc", "prefix")]
    [InlineData("\"abd\"", "reject")]
    [InlineData("\"value 499\"", "complete")]
    [InlineData("\"value 500\"", "reject")]
    public void Enum_ManyValuesWithSharedPrefixes_OneTrie(string json, string expected)
    {
        var values = string.Join(",", Enumerable.Range(0, 500).Select(i => $"\"value {i}\"").Concat(["\"a\"", "\"ab\"", "\"abc\""]));
        Assert.Equal(expected, Match($"{{\"enum\":[{values}]}}", json));
    }

    [Fact]
    public void Create_KeepsADetachedCopy()
    {
        JsonSchemaGrammar grammar;
        using (var document = JsonDocument.Parse("""{"type":"string","maxLength":2}"""))
        {
            grammar = JsonSchemaGrammar.Create(document.RootElement);
        }
        Assert.Equal(2, grammar.Schema.GetProperty("maxLength").GetInt32());
        Assert.Equal("reject", ByteMatcherTests.Match(grammar, "\"abc\""));
    }
}
