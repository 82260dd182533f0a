using SkiaSharp;

namespace StarKv.SyntheticGui.Screens;

/// <summary>
/// Draws a <see cref="Screen"/> with SkiaSharp into PNG bytes. Text uses the DejaVu Sans Bold face embedded in this
/// assembly (never a system font), so the pixels are the same on every machine with this SkiaSharp build.
/// Every widget is drawn inside its box, and nothing but its own widget is drawn inside a box (bars and the title
/// stay outside the widgets), so a box is where its widget's pixels are.
/// </summary>
public static class ScreenPainter
{
    private const float TextSize = 11f;

    private static readonly Lazy<SKTypeface> Face = new(LoadFace);

    /// <summary>The embedded typeface.</summary>
    public static SKTypeface Typeface => Face.Value;

    public static byte[] RenderPng(Screen screen)
    {
        ArgumentNullException.ThrowIfNull(screen);
        using var bitmap = Render(screen);
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        return data.ToArray();
    }

    /// <summary>Draws the screen into a new RGBA bitmap (the caller disposes it).</summary>
    public static SKBitmap Render(Screen screen)
    {
        ArgumentNullException.ThrowIfNull(screen);
        var bitmap = new SKBitmap(new SKImageInfo(screen.Width, screen.Height, SKColorType.Rgba8888, SKAlphaType.Premul));
        using var canvas = new SKCanvas(bitmap);
        var look = Look.For(screen.Theme);
        canvas.Clear(look.Background);
        using var font = new SKFont(Typeface, TextSize) { Edging = SKFontEdging.Antialias, Subpixel = false, Hinting = SKFontHinting.Normal };
        DrawBars(canvas, screen, look, font);
        foreach (var widget in screen.Widgets.Where(w => w.Kind != WidgetKind.DialogButton))
        {
            DrawWidget(canvas, widget, look, font);
        }

        if (screen.Dialog is { } dialog)
        {
            using var dim = new SKPaint { Color = new SKColor(0, 0, 0, 110) };
            canvas.DrawRect(0, 0, screen.Width, screen.Height, dim);
            using var panel = new SKPaint { Color = look.Panel, IsAntialias = true };
            canvas.DrawRoundRect(Rect(dialog.Box), 6, 6, panel);
            using var text = new SKPaint { Color = look.Text, IsAntialias = true };
            canvas.DrawText(dialog.Title, dialog.Box.X1 + 10, dialog.Box.Y1 + 20, font, text);
            foreach (var widget in screen.Widgets.Where(w => w.Kind == WidgetKind.DialogButton))
            {
                DrawWidget(canvas, widget, look, font);
            }
        }

        canvas.Flush();
        return bitmap;
    }

    private static SKTypeface LoadFace()
    {
        using var stream = typeof(ScreenPainter).Assembly.GetManifestResourceStream("StarKv.SyntheticGui.DejaVuSans-Bold.ttf")
            ?? throw new InvalidOperationException("The embedded font DejaVuSans-Bold.ttf is missing from the assembly.");
        return SKTypeface.FromStream(stream) ?? throw new InvalidOperationException("SkiaSharp could not read the embedded font.");
    }

    private static void DrawBars(SKCanvas canvas, Screen screen, Look look, SKFont font)
    {
        using var bar = new SKPaint { Color = look.Bar };
        using var text = new SKPaint { Color = look.MutedText, IsAntialias = true };
        switch (screen.Platform)
        {
            case Platform.Desktop:
                canvas.DrawRect(0, 0, screen.Width, 20, bar);
                canvas.DrawText(screen.Title, 8, 14, font, text);
                break;
            case Platform.Mobile:
                canvas.DrawRect(0, 0, screen.Width, 36, bar);
                canvas.DrawText(screen.Title, 10, 23, font, text);
                canvas.DrawRect(0, screen.Height - 40, screen.Width, 40, bar);
                break;
            default:
                canvas.DrawRect(0, 0, screen.Width, 32, bar);
                break;
        }
    }

    private static void DrawWidget(SKCanvas canvas, Widget widget, Look look, SKFont font)
    {
        var rect = Rect(widget.Box);
        var colour = new SKColor(widget.Colour.R, widget.Colour.G, widget.Colour.B);
        using var paint = new SKPaint { IsAntialias = true };
        switch (widget.Kind)
        {
            case WidgetKind.Button:
            case WidgetKind.DialogButton:
                paint.Color = colour;
                canvas.DrawRoundRect(rect, 5, 5, paint);
                CentredText(canvas, widget.Label, rect, font, widget.Colour.PrefersWhiteText ? SKColors.White : SKColors.Black);
                break;
            case WidgetKind.Icon:
                paint.Color = colour;
                DrawShape(canvas, widget.Label, rect, paint);
                break;
            case WidgetKind.Tab:
                paint.Color = widget.Highlighted ? look.Panel : look.Bar;
                canvas.DrawRect(rect, paint);
                if (widget.Highlighted)
                {
                    paint.Color = colour;
                    canvas.DrawRect(rect.Left, rect.Bottom - 3, rect.Width, 3, paint);
                }

                CentredText(canvas, widget.Label, rect, font, look.Text);
                break;
            case WidgetKind.ListRow:
                paint.Color = widget.Highlighted ? colour.WithAlpha(150) : look.Panel;
                canvas.DrawRect(rect, paint);
                paint.Color = widget.Highlighted ? look.Text : look.MutedText;
                canvas.DrawRect(rect.Left + 6, rect.MidY - 6, 9, 12, paint);
                using (var text = new SKPaint { Color = look.Text, IsAntialias = true })
                {
                    canvas.DrawText(widget.Label, rect.Left + 22, rect.MidY + 4, font, text);
                }

                break;
            case WidgetKind.TextField:
                paint.Color = look.Field;
                canvas.DrawRect(rect, paint);
                paint.Style = SKPaintStyle.Stroke;
                paint.StrokeWidth = widget.Highlighted ? 2 : 1;
                paint.Color = widget.Highlighted ? colour : look.MutedText;
                canvas.DrawRect(rect.Left + 1, rect.Top + 1, rect.Width - 2, rect.Height - 2, paint);
                using (var text = new SKPaint { Color = look.MutedText, IsAntialias = true })
                {
                    canvas.DrawText(widget.Label, rect.Left + 8, rect.MidY + 4, font, text);
                }

                if (widget.Highlighted)
                {
                    using var caret = new SKPaint { Color = look.Text, StrokeWidth = 1 };
                    var x = rect.Left + 10 + font.MeasureText(widget.Label);
                    canvas.DrawLine(x, rect.Top + 6, x, rect.Bottom - 6, caret);
                }

                break;
            default:
                throw new InvalidOperationException($"Unknown widget kind {widget.Kind}.");
        }
    }

    private static void DrawShape(SKCanvas canvas, string shape, SKRect rect, SKPaint paint)
    {
        var inset = SKRect.Inflate(rect, -2, -2);
        float cx = inset.MidX, cy = inset.MidY, r = inset.Width / 2;
        using var path = new SKPath();
        switch (shape)
        {
            case "circle":
                canvas.DrawCircle(cx, cy, r, paint);
                return;
            case "square":
                canvas.DrawRect(SKRect.Inflate(inset, -2, -2), paint);
                return;
            case "triangle":
                path.MoveTo(cx, inset.Top);
                path.LineTo(inset.Right, inset.Bottom);
                path.LineTo(inset.Left, inset.Bottom);
                break;
            case "diamond":
                path.MoveTo(cx, inset.Top);
                path.LineTo(inset.Right, cy);
                path.LineTo(cx, inset.Bottom);
                path.LineTo(inset.Left, cy);
                break;
            case "star":
                for (var i = 0; i < 10; i++)
                {
                    var radius = i % 2 == 0 ? r : r * 0.45f;
                    var angle = (-Math.PI / 2) + (i * Math.PI / 5);
                    var x = cx + (float)(radius * Math.Cos(angle));
                    var y = cy + (float)(radius * Math.Sin(angle));
                    if (i == 0)
                    {
                        path.MoveTo(x, y);
                    }
                    else
                    {
                        path.LineTo(x, y);
                    }
                }

                break;
            case "plus":
                var arm = r * 0.38f;
                canvas.DrawRect(cx - arm, inset.Top, 2 * arm, inset.Height, paint);
                canvas.DrawRect(inset.Left, cy - arm, inset.Width, 2 * arm, paint);
                return;
            default:
                throw new InvalidOperationException($"Unknown icon shape '{shape}'.");
        }

        path.Close();
        canvas.DrawPath(path, paint);
    }

    private static void CentredText(SKCanvas canvas, string text, SKRect rect, SKFont font, SKColor colour)
    {
        using var paint = new SKPaint { Color = colour, IsAntialias = true };
        var width = font.MeasureText(text);
        canvas.DrawText(text, rect.MidX - (width / 2), rect.MidY + 4, font, paint);
    }

    /// <summary>A box's pixels as a Skia rectangle: the right and bottom edges are exclusive in Skia.</summary>
    private static SKRect Rect(PixelBox box) => new(box.X1, box.Y1, box.X2 + 1, box.Y2 + 1);

    private sealed record Look(SKColor Background, SKColor Bar, SKColor Panel, SKColor Field, SKColor Text, SKColor MutedText)
    {
        public static Look For(Theme theme) => theme == Theme.Light
            ? new Look(new SKColor(246, 246, 246), new SKColor(222, 224, 228), new SKColor(255, 255, 255), new SKColor(255, 255, 255), new SKColor(28, 28, 30), new SKColor(110, 112, 118))
            : new Look(new SKColor(30, 31, 34), new SKColor(48, 50, 55), new SKColor(58, 60, 66), new SKColor(40, 42, 46), new SKColor(236, 236, 238), new SKColor(160, 162, 168));
    }
}
