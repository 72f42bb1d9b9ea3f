//! A labelled split of an image-classification dataset, loaded from a folder of IDX files.

use std::path::{Path, PathBuf};

use crate::{DataError, read_idx_images, read_idx_labels};

/// Number of classes of MNIST and Fashion-MNIST; every label must be below it.
pub const NUM_CLASSES: usize = 10;

/// Which half of the dataset to load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    /// `train-images-idx3-ubyte` and `train-labels-idx1-ubyte` (60 000 samples for MNIST).
    Train,
    /// `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (10 000 samples for MNIST).
    Test,
}

impl Split {
    /// The file-name prefix of the split: `"train"` or `"t10k"`.
    pub fn prefix(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "t10k",
        }
    }
}

/// Images and labels of one split, as bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// `len() * rows * cols` pixels, image after image, each row-major (0 = background,
    /// 255 = ink).
    pub images: Vec<u8>,
    /// One label per image, each below `num_classes`.
    pub labels: Vec<u8>,
    /// Rows of each image.
    pub rows: usize,
    /// Columns of each image.
    pub cols: usize,
    /// Number of classes ([`NUM_CLASSES`] for what [`Dataset::load`] reads).
    pub num_classes: usize,
}

impl Dataset {
    /// Loads a split from `dir`: for [`Split::Train`], `train-images-idx3-ubyte.gz` (or, if absent,
    /// `train-images-idx3-ubyte`) and `train-labels-idx1-ubyte.gz` (or `train-labels-idx1-ubyte`);
    /// for [`Split::Test`] the same names with `t10k` for `train`. Works for MNIST and
    /// Fashion-MNIST, which share the names and the format.
    ///
    /// # Errors
    /// [`DataError::NoFolder`] or [`DataError::NotAFolder`] for a path that is no folder;
    /// [`DataError::MissingFile`] listing the names tried; any error of
    /// [`read_idx_images`]/[`read_idx_labels`]; [`DataError::CountMismatch`] when the two files
    /// disagree on the number of samples; [`DataError::BadLabel`] with the index and value of the
    /// first label that is not below [`NUM_CLASSES`].
    pub fn load(dir: &Path, split: Split) -> Result<Dataset, DataError> {
        if !dir.exists() {
            return Err(DataError::NoFolder {
                dir: dir.to_path_buf(),
            });
        }
        if !dir.is_dir() {
            return Err(DataError::NotAFolder {
                dir: dir.to_path_buf(),
            });
        }
        let (images_what, labels_what) = match split {
            Split::Train => ("training images", "training labels"),
            Split::Test => ("test images", "test labels"),
        };
        let images_path = find(
            dir,
            &format!("{}-images-idx3-ubyte", split.prefix()),
            images_what,
        )?;
        let labels_path = find(
            dir,
            &format!("{}-labels-idx1-ubyte", split.prefix()),
            labels_what,
        )?;
        let images = read_idx_images(&images_path)?;
        let labels = read_idx_labels(&labels_path)?;
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path,
                labels_path,
                images: images.count,
                labels: labels.len(),
            });
        }
        if let Some((index, &value)) = labels
            .iter()
            .enumerate()
            .find(|&(_, &label)| usize::from(label) >= NUM_CLASSES)
        {
            return Err(DataError::BadLabel {
                path: labels_path,
                index,
                value,
                num_classes: NUM_CLASSES,
            });
        }
        Ok(Dataset {
            images: images.pixels,
            labels,
            rows: images.rows,
            cols: images.cols,
            num_classes: NUM_CLASSES,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image, `rows * cols`.
    pub fn pixels_per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The pixels of sample `index`, row-major.
    ///
    /// # Panics
    /// If `index >= self.len()`.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.pixels_per_image();
        &self.images[index * size..(index + 1) * size]
    }

    /// The first `n` samples and the rest (`n` capped at the length): a validation split held
    /// out of a training set.
    pub fn split_at(&self, n: usize) -> (Dataset, Dataset) {
        let n = n.min(self.len());
        let cut = n * self.pixels_per_image();
        let part = |images: &[u8], labels: &[u8]| Dataset {
            images: images.to_vec(),
            labels: labels.to_vec(),
            rows: self.rows,
            cols: self.cols,
            num_classes: self.num_classes,
        };
        (
            part(&self.images[..cut], &self.labels[..n]),
            part(&self.images[cut..], &self.labels[n..]),
        )
    }

    /// The first `n` samples (all of them if there are fewer), for `--limit`.
    pub fn take(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset {
            images: self.images[..n * self.pixels_per_image()].to_vec(),
            labels: self.labels[..n].to_vec(),
            rows: self.rows,
            cols: self.cols,
            num_classes: self.num_classes,
        }
    }
}

/// The first of `<stem>.gz`, `<stem>` that exists in `dir`.
fn find(dir: &Path, stem: &str, what: &'static str) -> Result<PathBuf, DataError> {
    let tried = vec![format!("{stem}.gz"), stem.to_owned()];
    tried
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.exists())
        .ok_or_else(|| DataError::MissingFile {
            dir: dir.to_owned(),
            what,
            tried,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC};
    use crate::test_files::{gzip, idx_bytes, write};

    /// Writes a 3-sample 2x2 test split (images gzipped, labels raw) into `dir`.
    fn write_split(dir: &Path, labels: &[u8]) {
        let pixels: Vec<u8> = (0..12).collect();
        write(
            dir,
            "t10k-images-idx3-ubyte.gz",
            &gzip(&idx_bytes(IMAGES_MAGIC, &[3, 2, 2], &pixels)),
        );
        write(
            dir,
            "t10k-labels-idx1-ubyte",
            &idx_bytes(LABELS_MAGIC, &[labels.len() as u32], labels),
        );
    }

    #[test]
    fn split_at_cuts_images_and_labels_at_the_same_sample() {
        let ds = Dataset {
            images: (0u8..12).collect(),
            labels: vec![0, 1, 2],
            rows: 2,
            cols: 2,
            num_classes: 10,
        };
        let (head, rest) = ds.split_at(2);
        assert_eq!(
            (head.labels, head.images),
            (vec![0, 1], (0u8..8).collect::<Vec<_>>())
        );
        assert_eq!((rest.labels, rest.images), (vec![2], vec![8, 9, 10, 11]));
        let (all, none) = ds.split_at(7);
        assert_eq!((all.len(), none.len()), (3, 0));
    }

    #[test]
    fn loads_a_split_and_takes_a_prefix() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), &[9, 0, 4]);
        let ds = Dataset::load(dir.path(), Split::Test).unwrap();
        assert_eq!((ds.len(), ds.rows, ds.cols, ds.num_classes), (3, 2, 2, 10));
        assert_eq!(ds.labels, [9, 0, 4]);
        assert_eq!(ds.image(1), [4, 5, 6, 7]);
        let first = ds.take(2);
        assert_eq!(first.labels, [9, 0]);
        assert_eq!(first.images, (0..8).collect::<Vec<u8>>());
        assert_eq!(ds.take(100), ds);
        assert!(ds.take(0).is_empty());
    }

    #[test]
    fn count_mismatch_names_both_files() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), &[1, 2]);
        let err = Dataset::load(dir.path(), Split::Test).unwrap_err();
        assert!(matches!(
            err,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ));
        let message = err.to_string();
        assert!(message.contains("t10k-images-idx3-ubyte.gz"), "{message}");
        assert!(message.contains("t10k-labels-idx1-ubyte"), "{message}");
    }

    #[test]
    fn label_out_of_range_says_index_and_value() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), &[1, 2, 10]);
        let err = Dataset::load(dir.path(), Split::Test).unwrap_err();
        assert!(matches!(
            err,
            DataError::BadLabel {
                index: 2,
                value: 10,
                ..
            }
        ));
        let message = err.to_string();
        assert!(message.contains("t10k-labels-idx1-ubyte"), "{message}");
        assert!(message.contains("label 10 at index 2"), "{message}");
    }

    #[test]
    fn missing_split_lists_names_tried() {
        let dir = tempfile::tempdir().unwrap();
        write_split(dir.path(), &[1, 2, 3]);
        let err = Dataset::load(dir.path(), Split::Train).unwrap_err();
        assert!(matches!(
            err,
            DataError::MissingFile {
                what: "training images",
                ..
            }
        ));
        let message = err.to_string();
        assert!(
            message.contains("train-images-idx3-ubyte.gz, train-images-idx3-ubyte"),
            "{message}"
        );
        assert!(message.contains("--data DIR"), "{message}");
    }

    #[test]
    fn a_folder_that_does_not_exist_or_is_a_file_is_named_as_such() {
        let dir = tempfile::tempdir().unwrap();
        let nowhere = dir.path().join("nowhere");
        let err = Dataset::load(&nowhere, Split::Test).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: no such folder; pass --data DIR with the folder that holds the IDX files",
                nowhere.display()
            )
        );
        let file = write(dir.path(), "file", b"x");
        let err = Dataset::load(&file, Split::Test).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: a file, not a folder; pass --data DIR with the folder that holds the IDX \
                 files",
                file.display()
            )
        );
    }

    #[test]
    fn real_mnist_test_split() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/mnist"));
        let ds = Dataset::load(dir, Split::Test).unwrap();
        assert_eq!((ds.len(), ds.rows, ds.cols), (10_000, 28, 28));
        assert_eq!(ds.images.len(), 10_000 * 28 * 28);
        assert_eq!(ds.labels[0], 7);
        let mut histogram = [0usize; NUM_CLASSES];
        for &label in &ds.labels {
            histogram[usize::from(label)] += 1;
        }
        // Per-class counts published with the files (fixtures/mnist/README.md).
        assert_eq!(
            histogram,
            [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
        );
        assert_eq!(histogram.iter().sum::<usize>(), 10_000);
    }
}
