using System.Text;
using Qwen.Testing;

namespace Qwen.Serving.Tests.Batch;

/// <summary>The conditional-write contract both storages keep (If-None-Match on create, If-Match on replace).</summary>
public sealed class BatchStorageTests(AzuriteFixture azurite) : IClassFixture<AzuriteFixture>
{
    private readonly AzuriteFixture _ = azurite;

    public static TheoryData<string> Storages => BatchProcessorTests.Storages;

    private static MemoryStream Text(string s) => new(Encoding.UTF8.GetBytes(s));

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task TryCreate_NameTaken_SecondWriterLosesAndContentStays(string storage)
    {
        await using var bed = await BatchTestBed.CreateAsync(storage);

        var first = await bed.Storage.TryCreateAsync("a/b.json", Text("one"));
        var second = await bed.Storage.TryCreateAsync("a/b.json", Text("two"));

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.Equal("one", (await bed.Storage.ReadAsync("a/b.json"))!.Content.ToString());
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task TryReplace_StaleETag_RefusedCurrentETag_Replaces(string storage)
    {
        await using var bed = await BatchTestBed.CreateAsync(storage);
        await bed.Storage.TryCreateAsync("r.json", Text("v1"));
        var read = (await bed.Storage.ReadAsync("r.json"))!;
        var next = await bed.Storage.TryReplaceAsync("r.json", BinaryData.FromString("v2"), read.ETag);

        var stale = await bed.Storage.TryReplaceAsync("r.json", BinaryData.FromString("v3"), read.ETag);

        Assert.NotNull(next);
        Assert.Null(stale);
        Assert.Equal("v2", (await bed.Storage.ReadAsync("r.json"))!.Content.ToString());
        Assert.Null(await bed.Storage.TryReplaceAsync("missing.json", BinaryData.FromString("x"), read.ETag));
    }

    [Theory]
    [MemberData(nameof(Storages))]
    public async Task OpenReadListAndProperties_ReturnRangesNamesAndSizes(string storage)
    {
        await using var bed = await BatchTestBed.CreateAsync(storage);
        await bed.Storage.TryCreateAsync("p/2.data", Text("0123456789"));
        await bed.Storage.TryCreateAsync("p/1.data", Text("x"));
        await bed.Storage.TryCreateAsync("q/1.data", Text("y"));

        await using var range = (await bed.Storage.OpenReadAsync("p/2.data", 3, 4))!;
        using var reader = new StreamReader(range);

        Assert.Equal("3456", await reader.ReadToEndAsync());
        Assert.Equal(10, (await bed.Storage.GetPropertiesAsync("p/2.data"))!.Size);
        Assert.Null(await bed.Storage.GetPropertiesAsync("p/3.data"));
        Assert.Null(await bed.Storage.OpenReadAsync("p/3.data"));
        Assert.Equal(["p/1.data", "p/2.data"], await bed.Storage.ListAsync("p/").ToListAsync());
        Assert.True(await bed.Storage.DeleteAsync("p/1.data"));
        Assert.False(await bed.Storage.DeleteAsync("p/1.data"));
    }
}
