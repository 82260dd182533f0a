namespace StarKv.Compression.Api;

/// <summary>Whether a cached entry came from text or from a screenshot.</summary>
public enum TokenModality : byte
{
    Text = 0,
    Image = 1,
}

/// <summary>
/// Bookkeeping of one cached KV entry. <see cref="Position"/> is the entry's index in the sequence of every
/// token the session has prefilled (it never changes when other entries are evicted). Image entries carry the
/// index of their screenshot and their (row, col) cell in that screenshot's merged grid; text entries carry
/// <see cref="ScreenshotIndex"/> = -1 and cell (-1, -1).
/// </summary>
public readonly record struct TokenInfo(long Position, TokenModality Modality, int ScreenshotIndex, int GridRow, int GridCol)
{
    public static TokenInfo Text(long position) => new(position, TokenModality.Text, -1, -1, -1);

    public static TokenInfo Image(long position, int screenshotIndex, int gridRow, int gridCol) =>
        new(position, TokenModality.Image, screenshotIndex, gridRow, gridCol);
}
