using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Orleans.TestingHost;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Storage.Persistence;

namespace StarKv.Grains.Tests.Storage;

/// <summary>The storages as a silo uses them: a grain's <c>IPersistentState&lt;T&gt;</c> outlives its activation.</summary>
[Collection(AzuriteTestGroup.Name)]
public sealed class GrainStorageSiloTests(AzuriteFixture azurite)
{
    private const string GrainKey = "tenant-a/session-1";

    [Fact]
    public async Task A_grains_persistent_state_survives_deactivation_in_a_silo_using_the_blob_storage()
    {
        var container = AzuriteFixture.NewContainerName("silo");

        await WriteDeactivateAndReadAsync(silo => silo.AddAzureBlobGrainStorage("checkpoints", o =>
        {
            o.ConnectionString = azurite.ConnectionString;
            o.Container = container;
        }));

        var blobs = new List<BlobItem>();
        await foreach (var blob in new BlobContainerClient(azurite.ConnectionString, container).GetBlobsAsync(BlobTraits.None, BlobStates.None, "state/probe/", CancellationToken.None))
        {
            blobs.Add(blob);
        }

        var stored = Assert.Single(blobs);
        Assert.EndsWith("/tenant-a~2Fsession-1", stored.Name, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_grains_persistent_state_survives_deactivation_in_a_silo_using_the_file_storage()
    {
        var root = Directory.CreateTempSubdirectory("starkv-silo-state-").FullName;
        try
        {
            await WriteDeactivateAndReadAsync(silo => silo.AddFileSystemGrainStorage("checkpoints", o => o.RootPath = root));

            var file = Assert.Single(Directory.EnumerateFiles(Path.Combine(root, "state", "probe"), "*.state", SearchOption.AllDirectories));
            Assert.EndsWith("/tenant-a~2Fsession-1.state", file, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>Records two steps on a probe grain, deactivates it, and checks a new activation reads them back.</summary>
    private static async Task WriteDeactivateAndReadAsync(Action<ISiloBuilder> addStorage)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) => addStorage(silo));
        await using var cluster = builder.Build();
        await cluster.DeployAsync();
        var checkpoints = new InMemoryKvCheckpointStore();
        var first = await checkpoints.WriteAsync(GrainKey, 1, CheckpointEnvelope.Wrap([1, 2, 3], "fp"), CancellationToken.None);
        var second = await checkpoints.WriteAsync(GrainKey, 2, CheckpointEnvelope.Wrap([4, 5, 6], "fp"), CancellationToken.None);
        var grain = cluster.Client.GetGrain<IStorageProbeGrain>(GrainKey);

        var fresh = await grain.Get();
        await grain.Record(1, first);
        var written = await grain.Record(2, second);
        await cluster.DeactivateAsync(grain);
        var reactivated = await grain.Get();

        Assert.False(fresh.RecordExists);
        Assert.NotEqual(written.Activation, reactivated.Activation);
        Assert.True(reactivated.RecordExists);
        Assert.Equal([1L, 2L], reactivated.Steps);
        Assert.Equal(second, reactivated.Checkpoint);
    }
}
