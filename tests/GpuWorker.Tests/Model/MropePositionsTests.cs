using StarKv.Compression.Api;
using StarKv.GpuWorker.Images;
using StarKv.GpuWorker.Model.Positions;

namespace StarKv.GpuWorker.Tests.Model;

public sealed class MropePositionsTests
{
    private const int S = 1;   // any text token
    private const int Vs = 8;  // <|vision_start|>
    private const int Ve = 9;  // <|vision_end|>
    private const int Img = 7; // <|image_pad|>

    [Fact]
    public void Positions_continue_over_three_turns_with_images()
    {
        // Turn 1: 3 text tokens, an image of 4×6 patches (2×3 merged cells), 2 text tokens.
        int[] turn1 = [S, S, Vs, .. Enumerable.Repeat(Img, 6), Ve, S];
        using var p1 = MropePositions.ForTurn(turn1, Img, [new GridThw(1, 4, 6)], 2, 0);
        AssertPositions(p1,
            t: [0, 1, 2, 3, 3, 3, 3, 3, 3, 6, 7],
            h: [0, 1, 2, 3, 3, 3, 4, 4, 4, 6, 7],
            w: [0, 1, 2, 3, 4, 5, 3, 4, 5, 6, 7]);
        Assert.Equal(8, p1.NextPosition);

        // Turn 2 starts at 8: an image of 6×2 patches (3×1 merged cells), taller than wide.
        int[] turn2 = [S, Vs, Img, Img, Img, Ve];
        using var p2 = MropePositions.ForTurn(turn2, Img, [new GridThw(1, 6, 2)], 2, p1.NextPosition);
        AssertPositions(p2,
            t: [8, 9, 10, 10, 10, 13],
            h: [8, 9, 10, 11, 12, 13],
            w: [8, 9, 10, 10, 10, 13]);
        Assert.Equal(14, p2.NextPosition);

        // Turn 3 starts at 14: a single merged cell, then text.
        int[] turn3 = [Vs, Img, Ve, S, S];
        using var p3 = MropePositions.ForTurn(turn3, Img, [new GridThw(1, 2, 2)], 2, p2.NextPosition);
        AssertPositions(p3,
            t: [14, 15, 16, 17, 18],
            h: [14, 15, 16, 17, 18],
            w: [14, 15, 16, 17, 18]);
        Assert.Equal(19, p3.NextPosition);
    }

    [Fact]
    public void Bookkeeping_names_each_image_token_screenshot_and_merged_cell()
    {
        int[] ids = [S, Vs, .. Enumerable.Repeat(Img, 6), Ve];
        var tokens = MropePositions.Bookkeeping(ids, Img, [new GridThw(1, 4, 6)], 2, firstSequenceIndex: 40, firstScreenshotIndex: 3);

        Assert.Equal(TokenInfo.Text(40), tokens[0]);
        Assert.Equal(TokenInfo.Image(42, 3, 0, 0), tokens[2]);
        Assert.Equal(TokenInfo.Image(46, 3, 1, 1), tokens[6]);
        Assert.Equal(TokenInfo.Image(47, 3, 1, 2), tokens[7]);
        Assert.Equal(TokenInfo.Text(48), tokens[8]);
    }

    [Fact]
    public void Image_runs_that_do_not_match_their_grid_are_refused()
    {
        int[] ids = [S, Img, Img, Img, S];
        Assert.Contains("needs 6", Assert.Throws<ArgumentException>(() => MropePositions.ForTurn(ids, Img, [new GridThw(1, 4, 6)], 2, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("no grid", Assert.Throws<ArgumentException>(() => MropePositions.ForTurn(ids, Img, [], 2, 0)).Message, StringComparison.Ordinal);
        Assert.Contains("hold 0 image", Assert.Throws<ArgumentException>(() => MropePositions.ForTurn([S, S], Img, [new GridThw(1, 2, 2)], 2, 0)).Message, StringComparison.Ordinal);
    }

    private static void AssertPositions(TurnPositions p, long[] t, long[] h, long[] w)
    {
        Assert.Equal([3, t.Length], p.Positions.shape);
        var flat = p.Positions.data<long>().ToArray();
        Assert.Equal(t, flat[..t.Length]);
        Assert.Equal(h, flat[t.Length..(2 * t.Length)]);
        Assert.Equal(w, flat[(2 * t.Length)..]);
    }
}
