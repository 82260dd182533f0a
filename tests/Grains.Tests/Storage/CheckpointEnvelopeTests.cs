using StarKv.Grains.Storage.Checkpoints;

namespace StarKv.Grains.Tests.Storage;

public sealed class CheckpointEnvelopeTests
{
    [Fact]
    public void Wrap_lays_out_magic_version_fingerprint_and_payload()
    {
        var bytes = CheckpointEnvelope.Wrap([0xAA, 0xBB], "f1");

        // "SKVC", version 1 (u16 LE), fingerprint length 2 (u16 LE), "f1", payload.
        Assert.Equal(new byte[] { 0x53, 0x4B, 0x56, 0x43, 0x01, 0x00, 0x02, 0x00, 0x66, 0x31, 0xAA, 0xBB }, bytes);
    }

    [Fact]
    public void Unwrap_returns_the_payload_for_the_same_model()
    {
        var payload = Enumerable.Range(0, 300).Select(i => (byte)i).ToArray();

        var unwrapped = CheckpointEnvelope.Unwrap(CheckpointEnvelope.Wrap(payload, "abc123"), "abc123");

        Assert.Equal(payload, unwrapped.ToArray());
    }

    [Fact]
    public void An_empty_payload_round_trips()
    {
        Assert.Equal(0, CheckpointEnvelope.Unwrap(CheckpointEnvelope.Wrap([], "abc123"), "abc123").Length);
    }

    [Fact]
    public void Read_reports_version_and_fingerprint()
    {
        var read = CheckpointEnvelope.Read(CheckpointEnvelope.Wrap([1, 2, 3], "modelprint"));

        Assert.Equal(1, read.FormatVersion);
        Assert.Equal("modelprint", read.ModelFingerprint);
        Assert.Equal(new byte[] { 1, 2, 3 }, read.Payload.ToArray());
    }

    [Fact]
    public void Another_models_checkpoint_is_refused_naming_both_fingerprints()
    {
        var bytes = CheckpointEnvelope.Wrap([1, 2, 3], "aaaa000011112222");

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointEnvelope.Unwrap(bytes, "bbbb000011112222"));

        Assert.Contains("'aaaa000011112222'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'bbbb000011112222'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Another_format_version_is_refused()
    {
        var bytes = CheckpointEnvelope.Wrap([1, 2, 3], "abc");
        bytes[4] = 2;

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointEnvelope.Unwrap(bytes, "abc"));

        Assert.Contains("format version 2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x53, 0x4B, 0x56 })]
    [InlineData(new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x01, 0x00, 0x00, 0x00 })]
    public void Bytes_that_are_no_envelope_are_refused(byte[] bytes)
    {
        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointEnvelope.Unwrap(bytes, "abc"));

        Assert.Contains("not a KV checkpoint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_fingerprint_length_beyond_the_bytes_is_refused()
    {
        var bytes = CheckpointEnvelope.Wrap([], "abc");
        bytes[6] = 200;

        var error = Assert.Throws<CheckpointFormatException>(() => CheckpointEnvelope.Read(bytes));

        Assert.Contains("200-byte model fingerprint", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_fingerprint_cannot_be_written()
    {
        Assert.Throws<ArgumentException>(() => CheckpointEnvelope.Wrap([1], " "));
    }
}
