namespace StarKv.Compression.Selection;

/// <summary>
/// The sizes of one layer's compression call: H query heads, G KV groups (r = H/G query heads each), W window
/// queries, L cached entries, D head dimension, and P = L − W past entries that compete for the budget.
/// </summary>
public readonly record struct LayerShape(int Heads, int Groups, int Window, int Length, int HeadDim)
{
    public int HeadsPerGroup => Heads / Groups;

    public int Past => Length - Window;
}
