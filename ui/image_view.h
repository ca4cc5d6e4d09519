#pragma once
/// \file image_view.h
/// Shows one image scaled to fit (aspect kept, smooth filtering) on a dark backdrop, or a
/// placeholder text when empty. Small model outputs (28x28) are enlarged to the widget size.

#include <QImage>
#include <QString>
#include <QWidget>

class ImageView : public QWidget
{
    Q_OBJECT

public:
    explicit ImageView(QWidget *parent = nullptr);

    void setImage(const QImage &image);
    void clear();
    const QImage &image() const { return m_image; }
    void setPlaceholderText(const QString &text);

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;

private:
    QRect targetRect() const;

    QImage m_image;
    QImage m_scaled; // m_image at targetRect().size(), rebuilt on change or resize
    QString m_placeholder;
};
