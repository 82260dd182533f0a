namespace StarKv.Compression.Api;

/// <summary>
/// The merged token grid of one screenshot: <c>grid_h / 2</c> rows by <c>grid_w / 2</c> columns after
/// Qwen2.5-VL's 2×2 patch merge. Taken from the real image grid, never guessed from a token count.
/// </summary>
public readonly record struct ScreenshotGrid(int ScreenshotIndex, int Rows, int Cols)
{
    public int TokenCount => Rows * Cols;
}
