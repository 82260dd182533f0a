using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

public sealed class InMemoryKvCheckpointStoreTests : KvCheckpointStoreContractTests
{
    private readonly InMemoryKvCheckpointStore _store = new();

    protected override IKvCheckpointStore Store => _store;

    protected override Task OverwriteRawAsync(string blobName, byte[] bytes)
    {
        _store.Overwrite(blobName, bytes);
        return Task.CompletedTask;
    }

    protected override Task DeleteRawAsync(string blobName)
    {
        Assert.True(_store.Remove(blobName));
        return Task.CompletedTask;
    }
}
