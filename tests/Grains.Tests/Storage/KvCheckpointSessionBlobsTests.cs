using Microsoft.Extensions.DependencyInjection;
using StarKv.Grains.Checkpoints;
using StarKv.Grains.Storage.Checkpoints;
using StarKv.Grains.Tests.Fakes;
using StarKv.GpuWorker.Sessions;

namespace StarKv.Grains.Tests.Storage;

public sealed class KvCheckpointSessionBlobsTests
{
    private const string Session = "tenant-a/session-1";

    private readonly InMemoryKvCheckpointStore _store = new();

    [Fact]
    public async Task A_saved_session_round_trips_framed_with_the_models_fingerprint()
    {
        var blobs = new KvCheckpointSessionBlobs(_store, new FakeModelRuntime(fingerprint: "fp-a"));
        byte[] saved = [9, 8, 7, 6];

        var token = await blobs.WriteAsync(Session, 0, saved, CancellationToken.None);

        var reference = CheckpointReference.ParseToken(token);
        Assert.Equal("fp-a", reference.ModelFingerprint);
        Assert.Equal(0, reference.StepIndex);
        Assert.Equal(saved, await blobs.ReadAsync(token, CancellationToken.None));
        var stored = CheckpointEnvelope.Read(await _store.ReadAsync(reference, CancellationToken.None));
        Assert.Equal("fp-a", stored.ModelFingerprint);
        Assert.Equal(saved, stored.Payload.ToArray());
    }

    [Fact]
    public async Task Another_models_silo_refuses_the_checkpoint()
    {
        var token = await new KvCheckpointSessionBlobs(_store, new FakeModelRuntime(fingerprint: "fp-a")).WriteAsync(Session, 0, new byte[] { 1 }, CancellationToken.None);

        var error = await Assert.ThrowsAsync<CheckpointFormatException>(() =>
            new KvCheckpointSessionBlobs(_store, new FakeModelRuntime(fingerprint: "fp-b")).ReadAsync(token, CancellationToken.None));

        Assert.Contains("'fp-a'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_write_keeps_the_previous_steps_checkpoint_and_drops_older_ones()
    {
        var blobs = new KvCheckpointSessionBlobs(_store, new FakeModelRuntime());

        var tokens = new List<string>();
        for (var step = 0; step < 4; step++)
        {
            tokens.Add(await blobs.WriteAsync(Session, step, new[] { (byte)step }, CancellationToken.None));
        }

        Assert.Equal(2, _store.BlobNames.Count);
        Assert.Equal(new byte[] { 2 }, await blobs.ReadAsync(tokens[2], CancellationToken.None));
        Assert.Equal(new byte[] { 3 }, await blobs.ReadAsync(tokens[3], CancellationToken.None));
        await Assert.ThrowsAsync<CheckpointStoreException>(() => blobs.ReadAsync(tokens[1], CancellationToken.None));

        await blobs.DeleteAsync(Session, CancellationToken.None);
        Assert.Empty(_store.BlobNames);
    }

    [Fact]
    public void The_registration_serves_the_grain_the_store_behind_its_interface()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IModelRuntime>(new FakeModelRuntime());
        services.AddInMemoryKvCheckpointStore().AddKvCheckpointSessionBlobs();
        using var provider = services.BuildServiceProvider();

        Assert.IsType<KvCheckpointSessionBlobs>(provider.GetRequiredService<ISessionCheckpointBlobs>());
    }

    [Fact]
    public void A_reference_token_round_trips_even_with_a_bar_in_the_fingerprint()
    {
        var reference = new CheckpointReference
        {
            BlobName = "kv/t~2Fs/000000000007-0123456789abcdef0123456789abcdef.kvc",
            Length = 123_456_789_012,
            Sha256 = new string('a', 64),
            StepIndex = 7,
            FormatVersion = 1,
            ModelFingerprint = "odd|print",
        };

        var token = reference.ToToken();

        Assert.Equal($"kvref1|kv/t~2Fs/000000000007-0123456789abcdef0123456789abcdef.kvc|123456789012|{new string('a', 64)}|7|1|odd|print", token);
        Assert.Equal(reference, CheckpointReference.ParseToken(token));
    }

    [Theory]
    [InlineData("tenant/session/3.kvckpt", "is not a checkpoint reference token")]
    [InlineData("kvref1|kv/a/b.kvc|-5|abc|1|1|fp", "The length '-5'")]
    [InlineData("kvref1|kv/a/b.kvc|5|abc|1|99999999999|fp", "The format version '99999999999'")]
    public void A_malformed_token_is_refused_naming_the_problem(string token, string problem)
    {
        var error = Assert.Throws<FormatException>(() => CheckpointReference.ParseToken(token));

        Assert.Contains(problem, error.Message, StringComparison.Ordinal);
    }
}
