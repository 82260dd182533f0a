namespace StarKv.GpuWorker.Images;

/// <summary>
/// An 8-bit RGB image in row-major order: <see cref="Pixels"/> is <c>[Height, Width, 3]</c>, the byte of channel c of
/// pixel (x, y) at <c>(y·Width + x)·3 + c</c>.
/// </summary>
public sealed class RgbImage
{
    public RgbImage(int width, int height, byte[] pixels)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentNullException.ThrowIfNull(pixels);
        if (pixels.Length != (long)width * height * 3)
        {
            throw new ArgumentException($"A {width}×{height} RGB image needs {(long)width * height * 3} bytes, not {pixels.Length}.", nameof(pixels));
        }

        Width = width;
        Height = height;
        Pixels = pixels;
    }

    public int Width { get; }

    public int Height { get; }

    /// <summary>The pixels, <c>[Height, Width, 3]</c>.</summary>
    public byte[] Pixels { get; }
}
