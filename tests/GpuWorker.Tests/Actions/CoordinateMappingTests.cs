using StarKv.GpuWorker.Actions;
using StarKv.GpuWorker.Tests.Images;

namespace StarKv.GpuWorker.Tests.Actions;

public sealed class CoordinateMappingTests
{
    // Qwen2-VL's processor defaults: 56·56 to 28·28·1280 pixels.
    private const int MinPixels = 56 * 56;
    private const int MaxPixels = 28 * 28 * 1280;

    public static TheoryData<string> SampleIds => [.. GuiSamples.All.Select(s => s.Id)];

    [Theory]
    [MemberData(nameof(SampleIds))]
    public void Box_centre_written_in_resized_pixels_maps_back_into_the_target(string id)
    {
        var sample = GuiSamples.All.Single(s => s.Id == id);
        var (resizedHeight, resizedWidth) = SmartResizeReference.Compute(sample.Height, sample.Width, 28, MinPixels, MaxPixels);
        var mapping = CoordinateMapping.For(sample.Width, sample.Height, resizedWidth, resizedHeight);
        var centreX = (sample.X1 + sample.X2) / 2.0;
        var centreY = (sample.Y1 + sample.Y2) / 2.0;
        var modelX = centreX * resizedWidth / sample.Width;
        var modelY = centreY * resizedHeight / sample.Height;

        // Exact model coordinates come back within one pixel of the centre.
        var exact = UiTarsActionParser.ParseActions(FormattableString.Invariant($"click(point='<point>{modelX:R} {modelY:R}</point>')"), mapping);
        var exactPoint = Assert.IsType<ClickAction>(Assert.Single(exact.Actions)).At;
        Assert.InRange(exactPoint.X, centreX - 1, centreX + 1);
        Assert.InRange(exactPoint.Y, centreY - 1, centreY + 1);

        // The model writes whole resized pixels: the error grows to half a resized pixel, and still hits the target.
        var written = UiTarsActionParser.ParseActions($"click(point='<point>{Math.Round(modelX)} {Math.Round(modelY)}</point>')", mapping);
        var point = Assert.IsType<ClickAction>(Assert.Single(written.Actions)).At;
        var toleranceX = (0.5 * sample.Width / resizedWidth) + 0.5;
        var toleranceY = (0.5 * sample.Height / resizedHeight) + 0.5;
        Assert.InRange(point.X, centreX - toleranceX, centreX + toleranceX);
        Assert.InRange(point.Y, centreY - toleranceY, centreY + toleranceY);
        Assert.InRange(point.X, sample.X1, sample.X2);
        Assert.InRange(point.Y, sample.Y1, sample.Y2);

        // The formatter writes the target centre as the model would, and it parses back into the target.
        var centre = new PixelPoint((int)Math.Round(centreX), (int)Math.Round(centreY));
        var roundTrip = UiTarsActionParser.ParseActions(UiTarsActionFormatter.Format(new ClickAction(centre), mapping), mapping);
        var back = Assert.IsType<ClickAction>(Assert.Single(roundTrip.Actions)).At;
        Assert.InRange(back.X, sample.X1, sample.X2);
        Assert.InRange(back.Y, sample.Y1, sample.Y2);
        Assert.InRange(back.X, centre.X - toleranceX - 0.5, centre.X + toleranceX + 0.5);
    }

    [Fact]
    public void Maps_by_the_resize_ratio_with_rounding_and_clamping()
    {
        var mapping = CoordinateMapping.For(1920, 1080, 1932, 1092);

        Assert.Equal(new PixelPoint(0, 0), mapping.FromResized(0, 0));
        Assert.Equal(new PixelPoint(1919, 1079), mapping.FromResized(1932, 1092));
        Assert.Equal(new PixelPoint(960, 540), mapping.FromResized(966, 546));
        // 100 · 1920 / 1932 = 99.38 → 99; 100 · 1080 / 1092 = 98.90 → 99.
        Assert.Equal(new PixelPoint(99, 99), mapping.FromResized(100, 100));
        Assert.Equal(new PixelPoint(0, 1079), mapping.FromResized(-3, 5000));
        Assert.Equal((966, 546), mapping.ToResized(new PixelPoint(960, 540)));
    }

    [Fact]
    public void Refuses_empty_sizes()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => CoordinateMapping.For(0, 10, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => CoordinateMapping.For(10, 10, 10, -1));
    }
}
