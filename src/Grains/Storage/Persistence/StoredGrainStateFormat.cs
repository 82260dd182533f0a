using System.Buffers.Binary;
using System.Security.Cryptography;

namespace StarKv.Grains.Storage.Persistence;

/// <summary>
/// The bytes of one stored grain state, the same in a blob and in a file (little-endian):
/// <code>
/// offset 0   4 bytes  magic "SKGS"
/// offset 4   u16      format version (1)
/// offset 6   16 bytes stamp: a fresh GUID per write (the file store's ETag; the blob store uses the service's)
/// offset 22  32 bytes SHA-256 of the payload
/// offset 54  i64      payload length in bytes
/// offset 62  payload  the state as the configured IGrainStorageSerializer wrote it
/// </code>
/// The checksum turns a torn or tampered record into a clear error instead of a confusing deserializer failure.
/// </summary>
public static class StoredGrainStateFormat
{
    public const ushort FormatVersion = 1;

    public const int HeaderLength = 62;

    private static ReadOnlySpan<byte> Magic => "SKGS"u8;

    public static byte[] Encode(ReadOnlySpan<byte> payload, Guid stamp)
    {
        var bytes = new byte[HeaderLength + payload.Length];
        var span = bytes.AsSpan();
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], FormatVersion);
        stamp.TryWriteBytes(span.Slice(6, 16));
        SHA256.HashData(payload, span.Slice(22, 32));
        BinaryPrimitives.WriteInt64LittleEndian(span[54..], payload.Length);
        payload.CopyTo(span[HeaderLength..]);
        return bytes;
    }

    /// <summary>Reads only the stamp, checking the magic and version; <paramref name="location"/> names the record in errors.</summary>
    public static Guid ReadStamp(ReadOnlySpan<byte> header, string location)
    {
        CheckHeader(header, location);
        return new Guid(header.Slice(6, 16));
    }

    /// <summary>Checks the header and checksum and returns the stamp and the payload.</summary>
    public static (Guid Stamp, ReadOnlyMemory<byte> Payload) Decode(ReadOnlyMemory<byte> bytes, string location)
    {
        var span = bytes.Span;
        CheckHeader(span, location);
        var length = BinaryPrimitives.ReadInt64LittleEndian(span[54..]);
        if (length != span.Length - HeaderLength)
        {
            throw new CorruptGrainStateException(location,
                $"the header announces a payload of {length} bytes but {span.Length - HeaderLength} follow it", null);
        }

        var payload = bytes[HeaderLength..];
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(payload.Span, hash);
        if (!hash.SequenceEqual(span.Slice(22, 32)))
        {
            throw new CorruptGrainStateException(location, "the payload's SHA-256 does not match the one in its header", null);
        }

        return (new Guid(span.Slice(6, 16)), payload);
    }

    private static void CheckHeader(ReadOnlySpan<byte> span, string location)
    {
        if (span.Length < HeaderLength)
        {
            throw new CorruptGrainStateException(location,
                $"it holds {span.Length} bytes, fewer than the {HeaderLength}-byte header of a stored grain state", null);
        }

        if (!span[..4].SequenceEqual(Magic))
        {
            throw new CorruptGrainStateException(location,
                $"it does not start with the magic \"SKGS\" (it starts with 0x{Convert.ToHexString(span[..4])})", null);
        }

        var version = BinaryPrimitives.ReadUInt16LittleEndian(span[4..]);
        if (version != FormatVersion)
        {
            throw new CorruptGrainStateException(location,
                $"it has format version {version}; this build reads version {FormatVersion}", null);
        }
    }
}
