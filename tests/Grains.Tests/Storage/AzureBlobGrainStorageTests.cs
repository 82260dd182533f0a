using Azure;
using Azure.Storage.Blobs;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using StarKv.Grains.Storage.Persistence;

namespace StarKv.Grains.Tests.Storage;

[Collection(AzuriteTestGroup.Name)]
public sealed class AzureBlobGrainStorageTests(AzuriteFixture azurite) : GrainStorageContractTests
{
    private readonly string _container = AzuriteFixture.NewContainerName("gs");

    protected override async Task<IGrainStorage> CreateStorageAsync()
    {
        var services = StorageTestServices.Create();
        services.AddAzureBlobGrainStorage("state", o =>
        {
            o.ConnectionString = azurite.ConnectionString;
            o.Container = _container;
        });
        var storage = services.BuildServiceProvider().GetRequiredKeyedService<IGrainStorage>("state");
        await ((AzureBlobGrainStorage)storage).InitializeAsync(CancellationToken.None);
        return storage;
    }

    protected override async Task WriteRawAsync(string recordName, byte[] bytes) =>
        await Blob(recordName).UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);

    protected override async Task<byte[]?> ReadRawAsync(string recordName)
    {
        try
        {
            return (await Blob(recordName).DownloadContentAsync()).Value.Content.ToArray();
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
    }

    [Fact]
    public async Task Initializing_creates_the_container()
    {
        var container = new BlobContainerClient(azurite.ConnectionString, _container);
        Assert.False((await container.ExistsAsync()).Value);

        await CreateStorageAsync();

        Assert.True((await container.ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_corrupt_blob_error_names_the_container_too()
    {
        var storage = await CreateStorageAsync();
        await WriteRawAsync(AlphaRecordName, [1, 2, 3]);

        var error = await Assert.ThrowsAsync<CorruptGrainStateException>(() => storage.ReadStateAsync(StateName, Alpha, new Orleans.GrainState<StorageTestState>()));

        Assert.Equal($"blob '{AlphaRecordName}' in container '{_container}'", error.Location);
    }

    private BlobClient Blob(string recordName) => new BlobContainerClient(azurite.ConnectionString, _container).GetBlobClient(recordName);
}
