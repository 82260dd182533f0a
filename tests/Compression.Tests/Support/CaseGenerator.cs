using StarKv.Compression.Api;

namespace StarKv.Compression.Tests.Support;

/// <summary>
/// Seeded random layer inputs shaped like a small GUI trajectory: text, one to three screenshots on small
/// merged grids (the last is current), text between, and a text tail at least as long as the window.
/// </summary>
public static class CaseGenerator
{
    public const int HiddenSize = 16;

    public static LayerCase Create(int seed, int window, double ratio, int heads = 4, int groups = 2, int dim = 16, int layerCount = 4, int? layerIndex = null, int? screenshots = null)
    {
        var random = new Random(seed);
        var tokens = new List<TokenInfo>();
        void Text(int count)
        {
            for (var i = 0; i < count; i++)
            {
                tokens.Add(TokenInfo.Text(tokens.Count));
            }
        }

        Text(random.Next(2, 6));
        var shotCount = screenshots ?? random.Next(1, 4);
        ScreenshotGrid grid = default;
        for (var s = 0; s < shotCount; s++)
        {
            grid = new ScreenshotGrid(s, random.Next(2, 4), random.Next(2, 5));
            for (var row = 0; row < grid.Rows; row++)
            {
                for (var col = 0; col < grid.Cols; col++)
                {
                    tokens.Add(TokenInfo.Image(tokens.Count, s, row, col));
                }
            }

            Text(random.Next(1, 4));
        }

        var turnStart = tokens.Count - grid.TokenCount - 1;
        Text(window + random.Next(0, 4));
        var length = tokens.Count;
        return new LayerCase
        {
            WindowQueries = Tensor3(random, heads, window, dim),
            TurnQueries = Tensor3(random, heads, length - Math.Max(0, turnStart), dim),
            Keys = Tensor3(random, groups, length, dim),
            Hidden = Tensor2(random, grid.TokenCount, HiddenSize, scale: 1 + random.NextDouble()),
            Tokens = tokens.ToArray(),
            Grid = grid,
            LayerIndex = layerIndex ?? random.Next(layerCount),
            LayerCount = layerCount,
            SeenTokens = length + random.Next(0, 10),
            Budget = KvBudget.FromRatio(ratio),
        };
    }

    public static float[][][] Tensor3(Random random, int a, int b, int c) =>
        Enumerable.Range(0, a).Select(_ => Tensor2(random, b, c)).ToArray();

    public static float[][] Tensor2(Random random, int a, int b, double scale = 1) =>
        Enumerable.Range(0, a).Select(_ => Enumerable.Range(0, b).Select(_ => (float)(Gaussian(random) * scale)).ToArray()).ToArray();

    private static double Gaussian(Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
