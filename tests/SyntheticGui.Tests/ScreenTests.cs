using SkiaSharp;
using StarKv.SyntheticGui.Screens;

namespace StarKv.SyntheticGui.Tests;

public sealed class ScreenTests
{
    public static TheoryData<Platform, Theme> Looks => new()
    {
        { Platform.Desktop, Theme.Light }, { Platform.Desktop, Theme.Dark },
        { Platform.Mobile, Theme.Light }, { Platform.Mobile, Theme.Dark },
        { Platform.Web, Theme.Light }, { Platform.Web, Theme.Dark },
    };

    [Theory]
    [MemberData(nameof(Looks))]
    public void Screens_hold_6_to_16_unique_non_overlapping_widgets_inside_the_screenshot(Platform platform, Theme theme)
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var screen = ScreenGenerator.Generate(new ScreenRequest { Platform = platform, Theme = theme }, new Random(seed));
            Assert.InRange(screen.Widgets.Count, 6, 16);
            Assert.Equal(screen.Widgets.Count, screen.Widgets.Select(w => w.Description).Distinct().Count());
            foreach (var widget in screen.Widgets)
            {
                Assert.InRange(widget.Box.X1, 0, screen.Width - 1);
                Assert.InRange(widget.Box.X2, widget.Box.X1, screen.Width - 1);
                Assert.InRange(widget.Box.Y1, 0, screen.Height - 1);
                Assert.InRange(widget.Box.Y2, widget.Box.Y1, screen.Height - 1);
                Assert.All(screen.Widgets.Where(w => !ReferenceEquals(w, widget)), other => Assert.False(other.Box.Overlaps(widget.Box)));
            }
        }
    }

    [Fact]
    public void The_same_seed_draws_the_same_pixels_and_another_seed_does_not()
    {
        var request = new ScreenRequest { Platform = Platform.Web, Theme = Theme.Light };
        var a = ScreenPainter.RenderPng(ScreenGenerator.Generate(request, new Random(7)));
        var b = ScreenPainter.RenderPng(ScreenGenerator.Generate(request, new Random(7)));
        var c = ScreenPainter.RenderPng(ScreenGenerator.Generate(request, new Random(8)));
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }

    [Theory]
    [MemberData(nameof(Looks))]
    public void A_buttons_box_is_where_its_fill_colour_is(Platform platform, Theme theme)
    {
        var checkedButtons = 0;
        for (var seed = 0; seed < 10; seed++)
        {
            var screen = ScreenGenerator.Generate(new ScreenRequest { Platform = platform, Theme = theme }, new Random(seed));
            using var bitmap = ScreenPainter.Render(screen);
            foreach (var button in screen.Widgets.Where(w => w.Kind == WidgetKind.Button))
            {
                var colour = new SKColor(button.Colour.R, button.Colour.G, button.Colour.B);
                var (_, cy) = button.Box.Centre;
                // Inside, beside the label: the fill; one pixel outside each side: not the fill.
                Assert.Equal(colour, bitmap.GetPixel(button.Box.X1 + 3, cy));
                Assert.Equal(colour, bitmap.GetPixel(button.Box.X2 - 3, cy));
                Assert.Equal(colour, bitmap.GetPixel(button.Box.X1 + 8, button.Box.Y1 + 1));
                Assert.NotEqual(colour, bitmap.GetPixel(button.Box.X1 - 1, cy));
                Assert.NotEqual(colour, bitmap.GetPixel(button.Box.X2 + 1, cy));
                Assert.NotEqual(colour, bitmap.GetPixel(button.Box.X1 + 8, button.Box.Y1 - 1));
                Assert.NotEqual(colour, bitmap.GetPixel(button.Box.X1 + 8, button.Box.Y2 + 1));
                checkedButtons++;
            }
        }

        Assert.True(checkedButtons >= 10);
    }

    [Fact]
    public void An_icons_shape_is_drawn_inside_its_box_only()
    {
        var checkedIcons = 0;
        for (var seed = 0; seed < 20; seed++)
        {
            var screen = ScreenGenerator.Generate(new ScreenRequest { Platform = Platform.Desktop, Theme = Theme.Light }, new Random(seed));
            using var bitmap = ScreenPainter.Render(screen);
            foreach (var icon in screen.Widgets.Where(w => w.Kind == WidgetKind.Icon))
            {
                var colour = new SKColor(icon.Colour.R, icon.Colour.G, icon.Colour.B);
                var inside = 0;
                for (var y = icon.Box.Y1 - 3; y <= icon.Box.Y2 + 3; y++)
                {
                    for (var x = icon.Box.X1 - 3; x <= icon.Box.X2 + 3; x++)
                    {
                        if (bitmap.GetPixel(x, y) == colour)
                        {
                            Assert.True(icon.Box.Contains(x, y), $"{icon.Description} has its colour at ({x}, {y}) outside its box");
                            inside++;
                        }
                    }
                }

                Assert.True(inside > icon.Box.Width * icon.Box.Height / 5, $"{icon.Description} covers only {inside} pixels");
                checkedIcons++;
            }
        }

        Assert.True(checkedIcons >= 10);
    }

    [Fact]
    public void A_dialog_hides_the_widgets_under_it_and_its_buttons_stay_visible()
    {
        var screen = ScreenGenerator.Generate(new ScreenRequest { Platform = Platform.Desktop, Theme = Theme.Dark, WithDialog = true }, new Random(3));
        Assert.NotNull(screen.Dialog);
        var visible = screen.Visible.ToList();
        Assert.Contains(visible, w => w.Kind == WidgetKind.DialogButton);
        Assert.DoesNotContain(visible, w => w.Kind != WidgetKind.DialogButton && w.Box.Overlaps(screen.Dialog!.Box));
    }
}
