using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;
using Orleans.Storage;
using StarKv.Grains.Checkpoints;
using StarKv.Grains.Persistence;
using StarKv.Grains.Sessions;

namespace StarKv.Grains.Tests;

public sealed class StorageTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "starkv-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task File_grain_storage_round_trips_state_and_refuses_a_stale_etag()
    {
        using var services = new ServiceCollection().AddSerializer(b => b.AddAssembly(typeof(TrajectoryState).Assembly)).BuildServiceProvider();
        var storage = new FileGrainStorage(_root, services.GetRequiredService<Serializer>());
        var id = GrainId.Create("trajectory", "tenant/session");
        var first = new GrainState<TrajectoryState>(new TrajectoryState { StepsTaken = 3, CheckpointReference = "tenant/session/3.kvckpt", Config = new SessionConfig { ModelId = "tiny" } });
        await storage.WriteStateAsync("trajectory", id, first);

        var read = new GrainState<TrajectoryState>(new TrajectoryState());
        await storage.ReadStateAsync("trajectory", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal(3, read.State!.StepsTaken);
        Assert.Equal("tiny", read.State.Config!.ModelId);
        Assert.Equal(first.ETag, read.ETag);

        read.State!.StepsTaken = 4;
        await storage.WriteStateAsync("trajectory", id, read);
        first.State!.StepsTaken = 5;
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("trajectory", id, first));
    }

    [Fact]
    public async Task File_checkpoints_keep_the_latest_two_and_refuse_references_outside_their_folder()
    {
        var blobs = new FileSessionCheckpointBlobs(_root);
        string last = "";
        for (var step = 0; step < 4; step++)
        {
            last = await blobs.WriteAsync("a/s", step, new byte[] { (byte)step, 9 }, CancellationToken.None);
        }

        Assert.Equal(new byte[] { 3, 9 }, await blobs.ReadAsync(last, CancellationToken.None));
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_root, "a", "s")).Length);
        await Assert.ThrowsAsync<ArgumentException>(() => blobs.ReadAsync("../../etc/passwd", CancellationToken.None));
        await blobs.DeleteAsync("a/s", CancellationToken.None);
        await Assert.ThrowsAsync<FileNotFoundException>(() => blobs.ReadAsync(last, CancellationToken.None));
    }

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }
}
