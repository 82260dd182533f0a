namespace StarKv.SyntheticGui.Screens;

/// <summary>A modal dialog drawn over a screen: a title and its buttons (which are also in the screen's widgets).</summary>
public sealed record Dialog(string Title, PixelBox Box);

/// <summary>One synthetic screen: its size, look and widgets, everything needed to draw it and to grade a click on it.</summary>
/// <param name="Platform">The device it imitates.</param>
/// <param name="Theme">Light or dark.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Title">The window or app title shown in its top bar.</param>
/// <param name="Widgets">Every widget that can be clicked, in drawing order (dialog buttons last).</param>
/// <param name="Dialog">A modal dialog over the screen, or null.</param>
public sealed record Screen(Platform Platform, Theme Theme, int Width, int Height, string Title, IReadOnlyList<Widget> Widgets, Dialog? Dialog = null)
{
    /// <summary>The widgets a user can still see: with a dialog open, those the dialog covers are hidden.</summary>
    public IEnumerable<Widget> Visible => Dialog is null
        ? Widgets
        : Widgets.Where(w => w.Kind == WidgetKind.DialogButton || !w.Box.Overlaps(Dialog.Box));

    /// <summary>Whether exactly one visible widget has this description.</summary>
    public bool IsUnique(Widget widget) => Visible.Count(w => w.Description == widget.Description) == 1;
}
