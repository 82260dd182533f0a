using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using StarKv.Grains.Storage.Persistence;

namespace StarKv.Grains.Tests.Storage;

public sealed class FileSystemGrainStorageTests : GrainStorageContractTests, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("starkv-grain-state-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    protected override Task<IGrainStorage> CreateStorageAsync()
    {
        var services = StorageTestServices.Create();
        services.AddFileSystemGrainStorage("state", o => o.RootPath = _root);
        return Task.FromResult(services.BuildServiceProvider().GetRequiredKeyedService<IGrainStorage>("state"));
    }

    protected override async Task WriteRawAsync(string recordName, byte[] bytes)
    {
        var path = PathOf(recordName);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, bytes);
    }

    protected override async Task<byte[]?> ReadRawAsync(string recordName) =>
        File.Exists(PathOf(recordName)) ? await File.ReadAllBytesAsync(PathOf(recordName)) : null;

    [Fact]
    public async Task A_write_leaves_no_temporary_file_behind()
    {
        var storage = await CreateStorageAsync();

        await storage.WriteStateAsync(StateName, Alpha, new Orleans.GrainState<StorageTestState>(new StorageTestState { Count = 1 }));

        var files = Directory.EnumerateFiles(_root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(_root, f)).Order().ToList();
        Assert.Equal(["state/profile/test-grain/alpha.state", "state/profile/test-grain/alpha.state.lock"], files);
    }

    private string PathOf(string recordName) => Path.Combine(_root, recordName + ".state");
}
