namespace StarKv.GpuWorker.Images;

/// <summary>Why image bytes could not be decoded.</summary>
public enum ImageDecodeFailure
{
    /// <summary>No bytes at all.</summary>
    EmptyInput,

    /// <summary>The bytes do not start with a PNG or JPEG signature.</summary>
    UnsupportedFormat,

    /// <summary>A PNG or JPEG signature, but the data behind it is truncated or damaged.</summary>
    CorruptData,

    /// <summary>The header declares a width or height of zero.</summary>
    ZeroDimensions,

    /// <summary>The header declares more pixels than the decoder accepts (<see cref="DecodeLimits.MaxPixels"/>).</summary>
    TooManyPixels,
}

/// <summary>Image bytes that are not a decodable PNG or JPEG; <see cref="Failure"/> says which way.</summary>
public sealed class ImageDecodeException : Exception
{
    public ImageDecodeException(ImageDecodeFailure failure, string message) : base(message) => Failure = failure;

    public ImageDecodeException() : base("The image could not be decoded.") => Failure = ImageDecodeFailure.CorruptData;

    public ImageDecodeException(string message) : base(message) => Failure = ImageDecodeFailure.CorruptData;

    public ImageDecodeException(string message, Exception innerException) : base(message, innerException) => Failure = ImageDecodeFailure.CorruptData;

    public ImageDecodeFailure Failure { get; }
}
