using Azure.Storage.Blobs;
using Microsoft.Extensions.Options;
using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

[Collection(AzuriteTestGroup.Name)]
public sealed class AzureBlobKvCheckpointStoreTests : KvCheckpointStoreContractTests
{
    private readonly BlobContainerClient _container;
    private readonly AzureBlobKvCheckpointStore _store;

    public AzureBlobKvCheckpointStoreTests(AzuriteFixture azurite)
    {
        ArgumentNullException.ThrowIfNull(azurite);
        var name = AzuriteFixture.NewContainerName("kv");
        _container = new BlobContainerClient(azurite.ConnectionString, name);
        _store = new AzureBlobKvCheckpointStore(Options.Create(new AzureBlobKvCheckpointStoreOptions { ConnectionString = azurite.ConnectionString, Container = name }));
    }

    protected override IKvCheckpointStore Store => _store;

    protected override async Task OverwriteRawAsync(string blobName, byte[] bytes) =>
        await _container.GetBlobClient(blobName).UploadAsync(BinaryData.FromBytes(bytes), overwrite: true);

    protected override async Task DeleteRawAsync(string blobName) => await _container.DeleteBlobAsync(blobName);

    [Fact]
    public async Task The_first_write_creates_the_container_and_deleting_without_one_is_no_error()
    {
        await _store.DeleteAsync(Session, CancellationToken.None);
        Assert.False((await _container.ExistsAsync()).Value);

        var reference = await _store.WriteAsync(Session, 0, Checkpoint(10, seed: 30), CancellationToken.None);

        Assert.True((await _container.ExistsAsync()).Value);
        Assert.True((await _container.GetBlobClient(reference.BlobName).ExistsAsync()).Value);
    }

    [Fact]
    public async Task A_missing_container_reads_as_a_missing_checkpoint()
    {
        var reference = await _store.WriteAsync(Session, 0, Checkpoint(10, seed: 31), CancellationToken.None);
        await _container.DeleteAsync();

        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => _store.ReadAsync(reference, CancellationToken.None));

        Assert.Contains($"missing from blob container '{_container.Name}'", error.Message, StringComparison.Ordinal);
    }
}
