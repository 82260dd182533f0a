using Microsoft.Extensions.Options;
using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

public sealed class FileSystemKvCheckpointStoreTests : KvCheckpointStoreContractTests, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("starkv-kv-").FullName;
    private readonly FileSystemKvCheckpointStore _store;

    public FileSystemKvCheckpointStoreTests()
    {
        _store = new FileSystemKvCheckpointStore(Options.Create(new FileSystemKvCheckpointStoreOptions { RootPath = _root }));
    }

    protected override IKvCheckpointStore Store => _store;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    protected override Task OverwriteRawAsync(string blobName, byte[] bytes) => File.WriteAllBytesAsync(Path.Combine(_root, blobName), bytes);

    protected override Task DeleteRawAsync(string blobName)
    {
        File.Delete(Path.Combine(_root, blobName));
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_checkpoint_is_a_file_under_the_root_and_no_temporary_file_stays()
    {
        var reference = await _store.WriteAsync(Session, 9, Checkpoint(10, seed: 20), CancellationToken.None);

        var files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f)).ToList();
        Assert.Equal([reference.BlobName], files);
    }
}
