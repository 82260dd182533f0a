namespace StarKv.GpuWorker.Actions;

/// <summary>The coordinate space a model writes points in.</summary>
public enum CoordinateSpace
{
    /// <summary>Absolute pixels of the smart-resized image the model saw (UI-TARS-1.5, Qwen2.5-VL).</summary>
    ResizedPixels,

    /// <summary>Normalised to 0–1000 on both axes (older UI-TARS, Qwen2-VL based).</summary>
    Normalized1000,
}

/// <summary>
/// Maps between the original screenshot's pixels and the coordinates a UI-TARS model writes. UI-TARS-1.5 writes
/// absolute pixels of the smart-resized image the model saw (<c>x_original = x_resized · W_original / W_resized</c>);
/// older UI-TARS releases wrote coordinates normalised to 0–1000 (<c>x_original = x / 1000 · W_original</c>).
/// Results are rounded to the nearest pixel (ties to even, as Python's <c>round</c>) and clamped to the screenshot.
/// </summary>
public sealed record CoordinateMapping
{
    private CoordinateMapping(int originalWidth, int originalHeight, int resizedWidth, int resizedHeight)
    {
        OriginalWidth = originalWidth;
        OriginalHeight = originalHeight;
        ResizedWidth = resizedWidth;
        ResizedHeight = resizedHeight;
    }

    public int OriginalWidth { get; }

    public int OriginalHeight { get; }

    public int ResizedWidth { get; }

    public int ResizedHeight { get; }

    /// <summary>A mapping from an image of the resized size the model saw back to the original screenshot.</summary>
    public static CoordinateMapping For(int originalWidth, int originalHeight, int resizedWidth, int resizedHeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(originalWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(originalHeight);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(resizedWidth);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(resizedHeight);
        return new CoordinateMapping(originalWidth, originalHeight, resizedWidth, resizedHeight);
    }

    /// <summary>A mapping where the model saw the screenshot at its own size.</summary>
    public static CoordinateMapping Identity(int width, int height) => For(width, height, width, height);

    /// <summary>Maps a point in the resized image's pixels (UI-TARS-1.5 <c>&lt;point&gt;</c>) to the original.</summary>
    public PixelPoint FromResized(double x, double y) =>
        new(ToPixel(x * OriginalWidth / ResizedWidth, OriginalWidth), ToPixel(y * OriginalHeight / ResizedHeight, OriginalHeight));

    /// <summary>Maps a point normalised to 0–1000 (older UI-TARS <c>&lt;|box_start|&gt;</c>) to the original.</summary>
    public PixelPoint FromNormalized1000(double x, double y) =>
        new(ToPixel(x * OriginalWidth / 1000.0, OriginalWidth), ToPixel(y * OriginalHeight / 1000.0, OriginalHeight));

    /// <summary>Maps an original pixel to the resized image's pixels, as the model would write it.</summary>
    public (int X, int Y) ToResized(PixelPoint point) =>
        (ToPixel((double)point.X * ResizedWidth / OriginalWidth, ResizedWidth),
         ToPixel((double)point.Y * ResizedHeight / OriginalHeight, ResizedHeight));

    private static int ToPixel(double value, int extent) =>
        (int)Math.Clamp(Math.Round(value, MidpointRounding.ToEven), 0, extent - 1);
}
