namespace StarKv.GpuWorker.Actions;

/// <summary>A pixel of the original screenshot: <see cref="X"/> from the left, <see cref="Y"/> from the top.</summary>
public readonly record struct PixelPoint(int X, int Y)
{
    public override string ToString() => $"({X}, {Y})";
}
