using System.Security.Cryptography;
using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

/// <summary>The behaviour every <see cref="IKvCheckpointStore"/> shares; one subclass per store runs it on a fresh store.</summary>
public abstract class KvCheckpointStoreContractTests
{
    protected const string Session = "tenant-a/session.1";
    protected const string Fingerprint = "0123456789abcdef";

    protected abstract IKvCheckpointStore Store { get; }

    protected abstract Task OverwriteRawAsync(string blobName, byte[] bytes);

    protected abstract Task DeleteRawAsync(string blobName);

    protected static byte[] Checkpoint(int payloadBytes, int seed)
    {
        var payload = new byte[payloadBytes];
        new Random(seed).NextBytes(payload);
        return CheckpointEnvelope.Wrap(payload, Fingerprint);
    }

    [Fact]
    public async Task A_written_checkpoint_reads_back_and_its_reference_describes_it()
    {
        var bytes = Checkpoint(5000, seed: 1);

        var reference = await Store.WriteAsync(Session, 3, bytes, CancellationToken.None);

        Assert.Equal(bytes.Length, reference.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), reference.Sha256);
        Assert.Equal(3, reference.StepIndex);
        Assert.Equal(1, reference.FormatVersion);
        Assert.Equal(Fingerprint, reference.ModelFingerprint);
        Assert.StartsWith("kv/tenant-a~2Fsession~2E1/000000000003-", reference.BlobName, StringComparison.Ordinal);
        Assert.EndsWith(".kvc", reference.BlobName, StringComparison.Ordinal);
        Assert.Equal(bytes, await Store.ReadAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task A_streamed_checkpoint_is_framed_hashed_once_and_reads_back()
    {
        var payload = new byte[300_000];
        new Random(20).NextBytes(payload);

        // Written in uneven pieces, as a serialiser writes fields and tensor rows.
        var reference = await Store.WriteAsync(Session, 5, Fingerprint, async (stream, token) =>
        {
            for (var at = 0; at < payload.Length;)
            {
                var piece = Math.Min(payload.Length - at, 1 + (at % 7919));
                await stream.WriteAsync(payload.AsMemory(at, piece), token);
                at += piece;
            }
        }, CancellationToken.None);

        var bytes = await Store.ReadAsync(reference, CancellationToken.None);
        Assert.Equal(CheckpointEnvelope.Wrap(payload, Fingerprint), bytes);
        Assert.Equal(bytes.Length, reference.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), reference.Sha256);
        Assert.Equal(5, reference.StepIndex);
        Assert.Equal(Fingerprint, reference.ModelFingerprint);
        Assert.Equal(payload, CheckpointEnvelope.Unwrap(bytes, Fingerprint).ToArray());
        Assert.StartsWith("kv/tenant-a~2Fsession~2E1/000000000005-", reference.BlobName, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_streamed_checkpoint_of_several_megabytes_round_trips()
    {
        var payload = new byte[6 << 20];
        new Random(21).NextBytes(payload);

        var reference = await Store.WriteAsync(Session, 0, Fingerprint, (stream, token) => Task.Run(() => stream.Write(payload), token), CancellationToken.None);

        Assert.Equal(payload, CheckpointEnvelope.Unwrap(await Store.ReadAsync(reference, CancellationToken.None), Fingerprint).ToArray());
    }

    [Fact]
    public async Task Pruning_keeps_every_checkpoint_of_a_chain()
    {
        var old = await Store.WriteAsync(Session, 1, Checkpoint(10, seed: 22), CancellationToken.None);
        var full = await Store.WriteAsync(Session, 2, Checkpoint(10, seed: 23), CancellationToken.None);
        var delta = await Store.WriteAsync(Session, 3, Fingerprint, (stream, token) => stream.WriteAsync(new byte[] { 1, 2, 3 }, token).AsTask(), CancellationToken.None);

        await Store.PruneAsync(Session, [full, delta], CancellationToken.None);

        await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(old, CancellationToken.None));
        Assert.Equal(Checkpoint(10, seed: 23), await Store.ReadAsync(full, CancellationToken.None));
        Assert.Equal(new byte[] { 1, 2, 3 }, CheckpointEnvelope.Unwrap(await Store.ReadAsync(delta, CancellationToken.None), Fingerprint).ToArray());
    }

    [Fact]
    public async Task A_checkpoint_of_several_megabytes_round_trips()
    {
        var bytes = Checkpoint(6 << 20, seed: 2);

        var reference = await Store.WriteAsync(Session, 0, bytes, CancellationToken.None);

        Assert.Equal(bytes, await Store.ReadAsync(reference, CancellationToken.None));
    }

    [Fact]
    public async Task Writing_the_same_step_twice_keeps_both_blobs()
    {
        var first = await Store.WriteAsync(Session, 4, Checkpoint(100, seed: 3), CancellationToken.None);
        var second = await Store.WriteAsync(Session, 4, Checkpoint(100, seed: 4), CancellationToken.None);

        Assert.NotEqual(first.BlobName, second.BlobName);
        Assert.Equal(Checkpoint(100, seed: 3), await Store.ReadAsync(first, CancellationToken.None));
        Assert.Equal(Checkpoint(100, seed: 4), await Store.ReadAsync(second, CancellationToken.None));
    }

    [Fact]
    public async Task A_missing_blob_gives_a_store_error_naming_it()
    {
        var reference = await Store.WriteAsync(Session, 1, Checkpoint(100, seed: 5), CancellationToken.None);
        await DeleteRawAsync(reference.BlobName);

        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(reference, CancellationToken.None));

        Assert.Equal(reference.BlobName, error.BlobName);
        Assert.Contains(reference.BlobName, error.Message, StringComparison.Ordinal);
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_blob_with_a_changed_byte_fails_its_sha256()
    {
        var bytes = Checkpoint(1000, seed: 6);
        var reference = await Store.WriteAsync(Session, 1, bytes, CancellationToken.None);
        var damaged = (byte[])bytes.Clone();
        damaged[700] ^= 0x01;
        await OverwriteRawAsync(reference.BlobName, damaged);

        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(reference, CancellationToken.None));

        Assert.Contains(reference.BlobName, error.Message, StringComparison.Ordinal);
        Assert.Contains("SHA-256", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_truncated_blob_fails_its_length()
    {
        var bytes = Checkpoint(1000, seed: 7);
        var reference = await Store.WriteAsync(Session, 1, bytes, CancellationToken.None);
        await OverwriteRawAsync(reference.BlobName, bytes[..500]);

        var error = await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(reference, CancellationToken.None));

        Assert.Contains($"has 500 bytes; its reference says {bytes.Length}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Deleting_a_session_removes_its_checkpoints_and_no_other_sessions()
    {
        var mine = new[]
        {
            await Store.WriteAsync(Session, 1, Checkpoint(10, seed: 8), CancellationToken.None),
            await Store.WriteAsync(Session, 2, Checkpoint(10, seed: 9), CancellationToken.None),
        };
        var neighbour = await Store.WriteAsync("tenant-a/session.10", 1, Checkpoint(10, seed: 10), CancellationToken.None);

        await Store.DeleteAsync(Session, CancellationToken.None);

        foreach (var reference in mine)
        {
            await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(reference, CancellationToken.None));
        }

        Assert.Equal(Checkpoint(10, seed: 10), await Store.ReadAsync(neighbour, CancellationToken.None));
        await Store.DeleteAsync("no-such-session", CancellationToken.None);
    }

    [Fact]
    public async Task Pruning_keeps_only_the_referenced_checkpoint_of_the_session()
    {
        var old = await Store.WriteAsync(Session, 1, Checkpoint(10, seed: 11), CancellationToken.None);
        var sameStep = await Store.WriteAsync(Session, 2, Checkpoint(10, seed: 12), CancellationToken.None);
        var kept = await Store.WriteAsync(Session, 2, Checkpoint(10, seed: 13), CancellationToken.None);
        var neighbour = await Store.WriteAsync("tenant-b/other", 1, Checkpoint(10, seed: 14), CancellationToken.None);

        await Store.PruneAsync(Session, kept, CancellationToken.None);

        await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(old, CancellationToken.None));
        await Assert.ThrowsAsync<CheckpointStoreException>(() => Store.ReadAsync(sameStep, CancellationToken.None));
        Assert.Equal(Checkpoint(10, seed: 13), await Store.ReadAsync(kept, CancellationToken.None));
        Assert.Equal(Checkpoint(10, seed: 14), await Store.ReadAsync(neighbour, CancellationToken.None));
    }

    [Fact]
    public async Task Bytes_that_are_no_checkpoint_envelope_are_refused()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.WriteAsync(Session, 1, new byte[100], CancellationToken.None));

        Assert.Contains("CheckpointEnvelope.Wrap", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_negative_step_index_is_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.WriteAsync(Session, -1, Checkpoint(10, seed: 13), CancellationToken.None));
    }

    [Fact]
    public async Task A_reference_whose_name_leaves_the_store_is_refused()
    {
        var reference = await Store.WriteAsync(Session, 1, Checkpoint(10, seed: 14), CancellationToken.None);
        var forged = reference with { BlobName = "kv/../../etc/passwd.kvc" };

        var error = await Assert.ThrowsAsync<ArgumentException>(() => Store.ReadAsync(forged, CancellationToken.None));

        Assert.Contains("kv/../../etc/passwd.kvc", error.Message, StringComparison.Ordinal);
    }
}
